/**
 * The store conformance suite: every backend (SQLite and PostgreSQL) runs
 * exactly these tests, so both keep the same queue semantics.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test, before, after } from 'node:test';
import { ApiError, QUEUE_AHEAD_CAP, type CreateBuildSpec, type LogEntry, type Platform } from '@buildmesh/protocol';
import { newId } from '../../src/ids.js';
import { readLogLines, tailPosition, type LogPosition } from '../../src/logs/log-lines.js';
import type { Claimant, Store } from '../../src/store/store.js';

const sha = () => randomBytes(32).toString('hex');

export function runStoreConformance(backend: string, open: () => Promise<Store>, options: { skip?: string | false } = {}): void {
  describe(`store conformance: ${backend}`, { skip: options.skip ?? false }, () => {
    let store: Store;
    let orgA: string;
    let orgB: string;
    let projectA: string;
    let projectB: string;

    before(async () => {
      store = await open();
      orgA = (await store.createOrg({ id: newId('org'), name: `a-${Date.now()}` })).id;
      orgB = (await store.createOrg({ id: newId('org'), name: `b-${Date.now()}` })).id;
      projectA = (await store.ensureProject(orgA, newId('prj'), 'app')).id;
      projectB = (await store.ensureProject(orgB, newId('prj'), 'app')).id;
    });
    after(async () => store.close());

    const spec = (platform: Platform, extra: Partial<CreateBuildSpec> = {}): CreateBuildSpec => ({
      project: 'app',
      platform,
      profile: { name: 'production', env: {} },
      ...extra,
    });
    const enqueue = (orgId: string, projectId: string, s: CreateBuildSpec) =>
      store.createBuild({ id: newId('bld'), orgId, projectId, spec: s, source: { sha256: sha(), size: 10 }, credentialsSealed: null, retryOf: null });
    const worker = async (orgId: string | null, platforms: Platform[], labels: Record<string, string> = {}, concurrency = 1): Promise<Claimant> => {
      const w = await store.insertWorker({
        id: newId('wrk'),
        orgId,
        pool: orgId ? 'org' : 'shared',
        capabilities: { name: `w-${randomBytes(3).toString('hex')}`, platforms, labels, concurrency, version: 'test' },
        secretHash: randomBytes(32),
      });
      return { workerId: w.id, orgId, platforms, labels, concurrency, leaseTtlMs: 60_000 };
    };
    /** Claims until nothing is left for this claimant, finishing each build. */
    const drain = async (c: Claimant) => {
      for (;;) {
        const job = await store.claim(c);
        if (!job) return;
        await store.finishAttempt(c.workerId, job.attempt.id, 'succeeded', null);
      }
    };

    test('names are unique per scope and a duplicate answers NAME_TAKEN', async () => {
      const name = `dup-${Date.now()}`;
      await store.createOrg({ id: newId('org'), name });
      await assert.rejects(store.createOrg({ id: newId('org'), name }), (e: unknown) => e instanceof ApiError && e.code === 'NAME_TAKEN');
      await assert.rejects(store.createProject(orgA, newId('prj'), 'app'), (e: unknown) => e instanceof ApiError && e.code === 'NAME_TAKEN');
      // The same project name in another org is another project.
      assert.notEqual(projectA, projectB);
    });

    test("a build is visible to its org only", async () => {
      const b = await enqueue(orgA, projectA, spec('web'));
      assert.equal((await store.getBuild(orgA, b.id))?.status, 'queued');
      assert.equal(await store.getBuild(orgB, b.id), undefined);
      assert.equal(await store.cancelBuild(orgB, b.id), undefined);
      assert.deepEqual(await store.logBatchIndex(orgB, b.id, { from: null, limit: 10 }), []);
      assert.equal(await store.listArtifacts(orgB, b.id), undefined);
      assert.equal(await store.queueInfo(orgB, b.id, 60_000), null);
      await store.cancelBuild(orgA, b.id);
    });

    test("a monorepo build keeps its app folder: stored, claimed with the job, kept by a retry", async () => {
      const plain = await enqueue(orgA, projectA, spec('web', { priority: -100 }));
      assert.equal(plain.appDir, undefined);
      const b = await enqueue(orgA, projectA, spec('web', { appDir: 'apps/mobile', priority: 100 }));
      assert.equal(b.appDir, 'apps/mobile');
      assert.equal((await store.getBuild(orgA, b.id))?.appDir, 'apps/mobile');
      assert.equal((await store.getBuildForRetry(orgA, b.id))?.spec.appDir, 'apps/mobile');
      const job = await store.claim(await worker(orgA, ['web']));
      assert.equal(job?.build.id, b.id);
      assert.equal(job?.build.appDir, 'apps/mobile');
      await store.finishAttempt(job!.attempt.workerId, job!.attempt.id, 'succeeded', null);
      assert.equal((await store.getBuildForRetry(orgA, plain.id))?.spec.appDir, undefined);
      await store.cancelBuild(orgA, plain.id);
    });

    test('claims follow priority, then age, and match platform, labels and pool', async () => {
      const c = await worker(orgA, ['android'], { xcode: '16.2' });
      const low = await enqueue(orgA, projectA, spec('android', { priority: -5 }));
      const first = await enqueue(orgA, projectA, spec('android'));
      const second = await enqueue(orgA, projectA, spec('android'));
      const high = await enqueue(orgA, projectA, spec('android', { priority: 10 }));
      const needsLabel = await enqueue(orgA, projectA, spec('android', { labels: { xcode: '15.0' }, priority: 50 }));
      const otherOrg = await enqueue(orgB, projectB, spec('android', { priority: 90 }));
      const order: string[] = [];
      for (;;) {
        const job = await store.claim(c);
        if (!job) break;
        order.push(job.build.id);
        assert.equal(job.attempt.number, 1);
        await store.finishAttempt(c.workerId, job.attempt.id, 'succeeded', null);
      }
      assert.deepEqual(order, [high.id, first.id, second.id, low.id]);
      assert.equal((await store.getBuild(orgA, needsLabel.id))?.status, 'queued');
      assert.equal((await store.getBuild(orgB, otherOrg.id))?.status, 'queued');
      // The shared pool takes any org's build.
      const shared = await worker(null, ['android'], { xcode: '15.0' });
      const got = new Set<string>();
      for (let job = await store.claim(shared); job; job = await store.claim(shared)) {
        got.add(job.build.id);
        await store.finishAttempt(shared.workerId, job.attempt.id, 'succeeded', null);
      }
      assert.ok(got.has(needsLabel.id));
      assert.ok(got.has(otherOrg.id));
      assert.equal((await store.getBuild(orgB, otherOrg.id))?.status, 'succeeded');
    });

    test('a worker never holds more attempts than its slots, and racing claims never double-lease', async () => {
      const builds = await Promise.all(Array.from({ length: 30 }, () => enqueue(orgA, projectA, spec('ios'))));
      const claimants = await Promise.all(Array.from({ length: 10 }, (_, i) => worker(orgA, ['ios'], {}, 1 + (i % 3))));
      const results = await Promise.all(claimants.flatMap((c) => Array.from({ length: 5 }, () => store.claim(c))));
      const jobs = results.filter((j) => j !== undefined);
      const ids = jobs.map((j) => j.build.id);
      assert.equal(new Set(ids).size, ids.length, 'a build was leased twice');
      for (const c of claimants) {
        const held = jobs.filter((j) => j.attempt.workerId === c.workerId).length;
        assert.ok(held <= c.concurrency, `worker held ${held} > ${c.concurrency}`);
      }
      assert.equal(jobs.length, claimants.reduce((n, c) => n + c.concurrency, 0));
      for (const j of jobs) await store.finishAttempt(j.attempt.workerId, j.attempt.id, 'succeeded', null);
      for (const c of claimants) await drain(c);
      for (const b of builds) assert.equal((await store.getBuild(orgA, b.id))?.status, 'succeeded');
    });

    test('a lapsed lease requeues the build, then fails it at max attempts', async () => {
      const b = await enqueue(orgA, projectA, spec('web', { maxAttempts: 2 }));
      const w1 = { ...(await worker(orgA, ['web'])), leaseTtlMs: 1 };
      const j1 = (await store.claim(w1))!;
      assert.equal(j1.build.id, b.id);
      await new Promise((r) => setTimeout(r, 5));
      assert.equal(await store.heartbeat(w1.workerId, j1.attempt.id, 60_000), undefined, 'a lapsed lease cannot be renewed');
      const s1 = await store.sweep(new Date());
      assert.deepEqual(s1.requeued, [b.id]);
      assert.equal((await store.getBuild(orgA, b.id))?.status, 'queued');
      await assert.rejects(store.finishAttempt(w1.workerId, j1.attempt.id, 'succeeded', null), (e: unknown) => e instanceof ApiError && e.code === 'LEASE_LOST');
      await assert.rejects(store.appendLogs(w1.workerId, j1.attempt.id, 1, [{ t: 1, stream: 'stdout', text: 'late' }]), (e: unknown) => e instanceof ApiError && e.code === 'LEASE_LOST');

      const w2 = { ...(await worker(orgA, ['web'])), leaseTtlMs: 1 };
      const j2 = (await store.claim(w2))!;
      assert.equal(j2.build.id, b.id);
      assert.equal(j2.attempt.number, 2);
      await new Promise((r) => setTimeout(r, 5));
      const s2 = await store.sweep(new Date());
      assert.deepEqual(s2.failed, [b.id]);
      const ended = await store.getBuild(orgA, b.id, { withAttempts: true });
      assert.equal(ended?.status, 'failed');
      assert.equal(ended?.error?.code, 'LEASE_EXPIRED');
      assert.deepEqual(ended?.attempts?.map((a) => [a.number, a.status, a.workerId]), [
        [1, 'lost', w1.workerId],
        [2, 'lost', w2.workerId],
      ]);
    });

    test('heartbeats renew the lease; cancel of a running build reaches the heartbeat and refuses a late success', async () => {
      const b = await enqueue(orgA, projectA, spec('web'));
      const w = await worker(orgA, ['web']);
      const job = (await store.claim(w))!;
      // A longer TTL than the claim's, so the renewal shows even within the same millisecond.
      const renewed = await store.heartbeat(w.workerId, job.attempt.id, 120_000);
      assert.ok(renewed && renewed.leaseExpiresAt > job.attempt.leaseExpiresAt);
      assert.equal(renewed.cancelRequested, false);
      const canceled = await store.cancelBuild(orgA, b.id);
      assert.equal(canceled?.status, 'canceled');
      const hb = await store.heartbeat(w.workerId, job.attempt.id, 60_000);
      assert.equal(hb?.cancelRequested, true);
      assert.equal(hb?.buildStatus, 'canceled');
      await assert.rejects(store.finishAttempt(w.workerId, job.attempt.id, 'succeeded', null), (e: unknown) => e instanceof ApiError && e.code === 'CONFLICT');
      assert.equal((await store.getBuild(orgA, b.id))?.status, 'canceled');
      await assert.rejects(store.cancelBuild(orgA, b.id), (e: unknown) => e instanceof ApiError && e.code === 'BUILD_NOT_CANCELABLE');
      const attempts = (await store.getBuild(orgA, b.id, { withAttempts: true }))?.attempts;
      assert.equal(attempts?.[0]?.status, 'canceled');
    });

    test('a worker reaches only its own attempts', async () => {
      await enqueue(orgA, projectA, spec('web'));
      const w = await worker(orgA, ['web']);
      const intruder = await worker(orgA, ['web']);
      const job = (await store.claim(w))!;
      assert.equal(await store.getAttemptForWorker(intruder.workerId, job.attempt.id), undefined);
      await assert.rejects(store.appendLogs(intruder.workerId, job.attempt.id, 1, [{ t: 1, stream: 'stdout', text: 'x' }]), (e: unknown) => e instanceof ApiError && e.code === 'NOT_FOUND');
      await assert.rejects(store.finishAttempt(intruder.workerId, job.attempt.id, 'failed', null), (e: unknown) => e instanceof ApiError && e.code === 'NOT_FOUND');
      await assert.rejects(
        store.addArtifact(intruder.workerId, job.attempt.id, { id: newId('art'), name: 'a.apk', kind: 'other', size: 1, sha256: sha() }),
        (e: unknown) => e instanceof ApiError && e.code === 'NOT_FOUND',
      );
      assert.equal(await store.heartbeat(intruder.workerId, job.attempt.id, 60_000), undefined);
      await store.finishAttempt(w.workerId, job.attempt.id, 'succeeded', null);
    });

    test('log batches are idempotent, gapless and read back in order with a cursor', async () => {
      const b = await enqueue(orgA, projectA, spec('web'));
      const w = await worker(orgA, ['web']);
      const job = (await store.claim(w))!;
      const line = (text: string) => ({ t: Date.now(), stream: 'stdout' as const, text, phase: 'CUSTOM' });
      assert.deepEqual(await store.appendLogs(w.workerId, job.attempt.id, 1, [line('a'), line('b')]), { duplicate: false, buildId: b.id });
      assert.deepEqual(await store.appendLogs(w.workerId, job.attempt.id, 1, [line('a'), line('b')]), { duplicate: true, buildId: b.id });
      await assert.rejects(store.appendLogs(w.workerId, job.attempt.id, 3, [line('x')]), (e: unknown) => e instanceof ApiError && e.code === 'LOG_SEQ_GAP');
      await store.appendLogs(w.workerId, job.attempt.id, 2, [line('c')]);
      const read = async (from: LogPosition, maxLines: number, orgId = orgA) => {
        const lines = readLogLines(store, orgId, b.id, from, { maxLines });
        const texts: string[] = [];
        let r = await lines.next();
        for (; !r.done; r = await lines.next()) texts.push((JSON.parse(r.value) as LogEntry).text);
        return { texts, ...r.value };
      };
      const start = { attempt: 0, seq: 0, line: 0 };
      assert.deepEqual((await read(start, 100)).texts, ['a', 'b', 'c']);
      // Pages are cut by lines, inside a batch too, and each continues where the last stopped.
      const page1 = await read(start, 1);
      assert.deepEqual([page1.texts, page1.atEnd], [['a'], false]);
      const page2 = await read(page1.next, 1);
      assert.deepEqual(page2.texts, ['b']);
      const page3 = await read(page2.next, 5);
      assert.deepEqual([page3.texts, page3.atEnd], [['c'], true]);
      const page4 = await read(page3.next, 5);
      assert.deepEqual([page4.texts, page4.atEnd, page4.next], [[], true, page3.next]);
      // A byte budget cuts a page too, after at least one line.
      const tiny = readLogLines(store, orgA, b.id, start, { maxLines: 100, maxBytes: 1 });
      assert.equal(((await tiny.next()).value as string).includes('"text":"a"'), true);
      assert.deepEqual((await tiny.next()).value, { next: { attempt: 1, seq: 1, line: 1 }, atEnd: false });
      // The tail starts inside the first batch; a longer tail is the whole log.
      assert.deepEqual((await read(await tailPosition(store, orgA, b.id, 2), 2)).texts, ['b', 'c']);
      assert.deepEqual((await read(await tailPosition(store, orgA, b.id, 10), 10)).texts, ['a', 'b', 'c']);
      assert.deepEqual((await read(start, 100, orgB)).texts, [], "another org's build has no log");
      await store.finishAttempt(w.workerId, job.attempt.id, 'succeeded', null);
    });

    test('log batches read as bytes are the stored UTF-8 text, through the build\'s org only', async () => {
      const b = await enqueue(orgA, projectA, spec('web'));
      const w = await worker(orgA, ['web']);
      const job = (await store.claim(w))!;
      const line = (text: string) => ({ t: 1, stream: 'stdout' as const, text });
      await store.appendLogs(w.workerId, job.attempt.id, 1, [line('a — ü 🚀 "q" \\ \u0000'), line('b')]);
      await store.appendLogs(w.workerId, job.attempt.id, 2, [line('c 店')]);
      const range = { first: { attempt: 1, seq: 1 }, last: { attempt: 1, seq: 2 } };
      const texts = await store.logBatchLines(orgA, b.id, range);
      const bytes = await store.logBatchBytes(orgA, b.id, range);
      assert.deepEqual(bytes.map((x) => [x.attempt, x.seq]), [[1, 1], [1, 2]]);
      assert.ok(bytes.every((x) => Buffer.isBuffer(x.lines)));
      assert.deepEqual(bytes.map((x) => x.lines.toString('utf8')), texts.map((x) => x.lines));
      assert.equal((JSON.parse(bytes[0]!.lines.toString('utf8')) as Array<{ text: string }>)[0]!.text, 'a — ü 🚀 "q" \\ \u0000');
      assert.deepEqual(await store.logBatchBytes(orgA, b.id, { ...range, attempt: 2 }), []);
      assert.deepEqual(await store.logBatchBytes(orgB, b.id, range), [], "another org's build has no log");
      await store.finishAttempt(w.workerId, job.attempt.id, 'succeeded', null);
    });

    test('artifacts: same name and bytes is idempotent, other bytes conflict', async () => {
      const b = await enqueue(orgA, projectA, spec('web'));
      const w = await worker(orgA, ['web']);
      const job = (await store.claim(w))!;
      const digest = sha();
      const a1 = await store.addArtifact(w.workerId, job.attempt.id, { id: newId('art'), name: 'app.tar.gz', kind: 'application-archive', size: 5, sha256: digest });
      const a2 = await store.addArtifact(w.workerId, job.attempt.id, { id: newId('art'), name: 'app.tar.gz', kind: 'application-archive', size: 5, sha256: digest });
      assert.equal(a1.id, a2.id);
      await assert.rejects(
        store.addArtifact(w.workerId, job.attempt.id, { id: newId('art'), name: 'app.tar.gz', kind: 'application-archive', size: 5, sha256: sha() }),
        (e: unknown) => e instanceof ApiError && e.code === 'CONFLICT',
      );
      assert.deepEqual((await store.listArtifacts(orgA, b.id))?.map((a) => a.id), [a1.id]);
      assert.equal((await store.getArtifact(orgB, b.id, a1.id)), undefined);
      await store.finishAttempt(w.workerId, job.attempt.id, 'succeeded', null);
      assert.equal(await store.blobReferenced(digest), true);
    });

    test("artifacts: an .ipa keeps its app info (every character of the title), other artifacts have none", async () => {
      const b = await enqueue(orgA, projectA, spec('ios'));
      const w = await worker(orgA, ['ios']);
      const job = (await store.claim(w))!;
      const app = { bundleId: 'com.example.shop', version: '2.3.0', build: '45', title: 'Shop ✓ "<&>" 店' };
      const ipa = await store.addArtifact(w.workerId, job.attempt.id, { id: newId('art'), name: 'Shop.ipa', kind: 'application-archive', size: 5, sha256: sha(), app });
      const logs = await store.addArtifact(w.workerId, job.attempt.id, { id: newId('art'), name: 'logs.tar.gz', kind: 'build-artifacts', size: 5, sha256: sha() });
      assert.deepEqual(ipa.app, app);
      assert.deepEqual((await store.getArtifact(orgA, b.id, ipa.id))?.app, app);
      assert.equal('app' in (await store.getArtifact(orgA, b.id, logs.id))!, false);
      assert.deepEqual((await store.listArtifacts(orgA, b.id))?.map((a) => a.app), [app, undefined]);
      await store.finishAttempt(w.workerId, job.attempt.id, 'succeeded', null);
    });

    test('a build past its deadline times out and the heartbeat says so', async () => {
      const b = await enqueue(orgA, projectA, spec('web', { timeoutSeconds: 10 }));
      const w = await worker(orgA, ['web']);
      const job = (await store.claim(w))!;
      const swept = await store.sweep(new Date(Date.now() + 11_000));
      assert.ok(swept.timedOut.includes(b.id));
      const hb = await store.heartbeat(w.workerId, job.attempt.id, 60_000);
      assert.equal(hb?.buildStatus, 'timed_out');
      await store.finishAttempt(w.workerId, job.attempt.id, 'timed_out', null);
      const ended = await store.getBuild(orgA, b.id, { withAttempts: true });
      assert.equal(ended?.status, 'timed_out');
      assert.equal(ended?.error?.code, 'BUILD_TIMED_OUT');
      assert.equal(ended?.attempts?.[0]?.status, 'timed_out');
    });

    test('a claim nobody received is undone without spending an attempt', async () => {
      const b = await enqueue(orgA, projectA, spec('web', { maxAttempts: 1 }));
      const w = await worker(orgA, ['web']);
      const job = (await store.claim(w))!;
      assert.equal(job.build.id, b.id);
      assert.equal(await store.releaseClaim(w.workerId, job.attempt.id), true);
      const back = await store.getBuild(orgA, b.id, { withAttempts: true });
      assert.equal(back?.status, 'queued');
      assert.equal(back?.attemptCount, 0);
      assert.deepEqual(back?.attempts, []);
      assert.equal(await store.releaseClaim(w.workerId, job.attempt.id), false, 'only once');
      const again = (await store.claim(w))!;
      assert.equal(again.attempt.number, 1);
      await store.appendLogs(w.workerId, again.attempt.id, 1, [{ t: 1, stream: 'stdout', text: 'started' }]);
      assert.equal(await store.releaseClaim(w.workerId, again.attempt.id), false, 'an attempt that has begun is never undone');
      await store.finishAttempt(w.workerId, again.attempt.id, 'succeeded', null);
    });

    test('a worker handing a build back requeues it', async () => {
      const b = await enqueue(orgA, projectA, spec('web'));
      const w = await worker(orgA, ['web']);
      const job = (await store.claim(w))!;
      assert.equal((await store.finishAttempt(w.workerId, job.attempt.id, 'canceled', null)).buildStatus, 'queued');
      const again = (await store.claim(w))!;
      assert.equal(again.build.id, b.id);
      assert.equal(again.attempt.number, 2);
      await store.finishAttempt(w.workerId, again.attempt.id, 'failed', { code: 'STEP_FAILED', message: 'exit 1', phase: 'CUSTOM' });
      const ended = await store.getBuild(orgA, b.id);
      assert.equal(ended?.status, 'failed');
      assert.equal(ended?.error?.code, 'STEP_FAILED');
      assert.ok(ended?.error?.explanation);
    });

    test('queue info explains the wait', async () => {
      const lonely = await enqueue(orgB, projectB, spec('ios', { labels: { xcode: '99.0' } }));
      const q = await store.queueInfo(orgB, lonely.id, 60_000);
      assert.equal(q?.matchingWorkers, 0);
      assert.match(q?.reason ?? '', /no enrolled worker can build ios with xcode=99\.0/);
      await worker(orgB, ['ios'], { xcode: '99.0' });
      const q2 = await store.queueInfo(orgB, lonely.id, 60_000);
      assert.equal(q2?.onlineMatchingWorkers, 1);
      assert.equal(q2?.position, 1);
      await store.cancelBuild(orgB, lonely.id);
    });

    test("queue position counts only the caller's own builds", async () => {
      const org = (await store.createOrg({ id: newId('org'), name: `pos-${Date.now()}` })).id;
      const project = (await store.ensureProject(org, newId('prj'), 'pos')).id;
      const others = await Promise.all(Array.from({ length: 3 }, () => enqueue(orgA, projectA, spec('android', { labels: { only: 'pos' } }))));
      const mine = await enqueue(org, project, spec('android', { labels: { only: 'pos' } }));
      assert.equal((await store.queueInfo(org, mine.id, 60_000))?.position, 1, "another org's queue length leaked into the position");
      for (const b of [...others, mine]) await store.cancelBuild(b.id === mine.id ? org : orgA, b.id);
    });

    test('a backlog no worker can take never holds back a build behind it, nor counts ahead of it', async () => {
      const org = (await store.createOrg({ id: newId('org'), name: `backlog-${Date.now()}` })).id;
      const project = (await store.ensureProject(org, newId('prj'), 'backlog')).id;
      for (let i = 0; i < 2000; i++) await enqueue(org, project, spec('android', { labels: { gpu: 'none-has-this' } }));
      const plain = await enqueue(org, project, spec('android'));
      const w = await worker(org, ['android'], { xcode: '16.2' });
      const q = await store.queueInfo(org, plain.id, 60_000);
      assert.deepEqual([q?.position, q?.positionCapped], [1, false], 'builds this worker cannot take were counted ahead');
      const job = await store.claim(w);
      assert.equal(job?.build.id, plain.id, 'the plain build was not claimed at once');
      await store.finishAttempt(w.workerId, job!.attempt.id, 'succeeded', null);
      assert.equal(await store.claim(w), undefined);
    });

    test('queue position counts the lanes the same workers serve, up to the cap', async () => {
      const org = (await store.createOrg({ id: newId('org'), name: `lanes-${Date.now()}` })).id;
      const project = (await store.ensureProject(org, newId('prj'), 'lanes')).id;
      await worker(org, ['ios'], { xcode: '16.2', arch: 'arm64' });
      const a = await enqueue(org, project, spec('ios', { labels: { xcode: '16.2' } }));
      const b = await enqueue(org, project, spec('ios', { labels: { arch: 'arm64' } }));
      await enqueue(org, project, spec('ios', { labels: { xcode: '15.0' } }));
      const c = await enqueue(org, project, spec('ios'));
      const urgent = await enqueue(org, project, spec('ios', { priority: 5 }));
      assert.equal((await store.queueInfo(org, urgent.id, 60_000))?.position, 1);
      assert.equal((await store.queueInfo(org, a.id, 60_000))?.position, 2);
      assert.equal((await store.queueInfo(org, b.id, 60_000))?.position, 3);
      // The xcode 15.0 build waits for a worker nobody has: it is not ahead of c.
      assert.equal((await store.queueInfo(org, c.id, 60_000))?.position, 4);
      const more = await Promise.all(Array.from({ length: QUEUE_AHEAD_CAP + 5 }, () => enqueue(org, project, spec('ios', { priority: 9 }))));
      const capped = await store.queueInfo(org, c.id, 60_000);
      assert.deepEqual([capped?.position, capped?.positionCapped], [QUEUE_AHEAD_CAP + 1, true]);
      assert.match(capped?.reason ?? '', /1,000\+ build\(s\) ahead/);
      // Left queued: canceling them would give the retention test below a thousand ended builds to wade through.
      assert.equal(more.length, QUEUE_AHEAD_CAP + 5);
    });

    test('stats count builds by status and queued builds by platform', async () => {
      const before = await store.stats(60_000);
      const org = (await store.createOrg({ id: newId('org'), name: `stats-${Date.now()}` })).id;
      const project = (await store.ensureProject(org, newId('prj'), 'stats')).id;
      const x = await enqueue(org, project, spec('web'));
      await enqueue(org, project, spec('web'));
      const mid = await store.stats(60_000);
      assert.equal((mid.queuedByPlatform.web ?? 0) - (before.queuedByPlatform.web ?? 0), 2);
      await store.cancelBuild(org, x.id);
      const after = await store.stats(60_000);
      assert.equal((after.queuedByPlatform.web ?? 0) - (before.queuedByPlatform.web ?? 0), 1);
      assert.equal((after.buildsByStatus.canceled ?? 0) - (before.buildsByStatus.canceled ?? 0), 1);
      assert.equal(await store.stats(60_000).then((s) => s.buildsByStatus.canceled), after.buildsByStatus.canceled, 'folding keeps the sums');
    });

    test('listing pages newest first with filters and rejects foreign cursors', async () => {
      const org = (await store.createOrg({ id: newId('org'), name: `list-${Date.now()}` })).id;
      const project = (await store.ensureProject(org, newId('prj'), 'lister')).id;
      const made: string[] = [];
      for (let i = 0; i < 5; i++) made.push((await enqueue(org, project, spec(i % 2 ? 'android' : 'web'))).id);
      const p1 = await store.listBuilds(org, { limit: 2 });
      const p2 = await store.listBuilds(org, { limit: 2, cursor: p1.nextCursor! });
      const p3 = await store.listBuilds(org, { limit: 2, cursor: p2.nextCursor! });
      assert.deepEqual([...p1.builds, ...p2.builds, ...p3.builds].map((b) => b.id), [...made].reverse());
      assert.equal(p3.nextCursor, null);
      assert.equal((await store.listBuilds(org, { platform: 'android' })).builds.length, 2);
      assert.equal((await store.listBuilds(org, { project: 'nope' })).builds.length, 0);
      await assert.rejects(store.listBuilds(org, { cursor: 'garbage!' }), (e: unknown) => e instanceof ApiError && e.code === 'INVALID_CURSOR');
    });

    test('retention expires old builds (their sealed credentials too) and reports blobs nothing uses any more', async () => {
      const org = (await store.createOrg({ id: newId('org'), name: `ret-${Date.now()}` })).id;
      const project = (await store.ensureProject(org, newId('prj'), 'old')).id;
      const sealed = randomBytes(48); // stands for the credentials sealed into the build at submit
      const b = await store.createBuild({ id: newId('bld'), orgId: org, projectId: project, spec: spec('web'), source: { sha256: sha(), size: 10 }, credentialsSealed: sealed, retryOf: null });
      const w = await worker(org, ['web']);
      const job = (await store.claim(w))!;
      await store.finishAttempt(w.workerId, job.attempt.id, 'succeeded', null);
      assert.deepEqual((await store.getBuildForRetry(org, b.id))?.credentialsSealed, sealed);
      const r = await store.expire(new Date(Date.now() + 1000), 1000);
      assert.equal((await store.getBuildForRetry(org, b.id))?.credentialsSealed, null, 'the sealed credentials go with the build');
      assert.ok(r.builds >= 1);
      assert.ok(r.unreferencedBlobs.includes(b.source.sha256));
      assert.equal(await store.blobReferenced(b.source.sha256), false);
      assert.equal((await store.getBuild(org, b.id))?.status, 'succeeded', 'the build row stays');
    });

    test('instance admin tokens are listed and revoked only for the instance admin; replacing one revokes the others', async () => {
      const org = (await store.createOrg({ id: newId('org'), name: `ia-${Date.now()}` })).id;
      const first = await store.replaceInstanceAdminToken({ id: newId('tok'), orgId: org, name: 'instance-admin', secretHash: randomBytes(32) });
      const orgAdmin = await store.insertToken({ id: newId('tok'), orgId: org, name: 'admin', role: 'admin', instanceAdmin: false, secretHash: randomBytes(32) });
      assert.deepEqual((await store.listTokens(org, false)).map((t) => t.id), [orgAdmin.id], 'an org admin does not see it');
      assert.equal(await store.revokeToken(org, first.token.id, false), undefined, 'nor revoke it');
      assert.equal((await store.findToken(first.token.id))?.revokedAt, null);
      const second = await store.replaceInstanceAdminToken({ id: newId('tok'), orgId: org, name: 'instance-admin', secretHash: randomBytes(32) });
      assert.ok(second.revoked.includes(first.token.id));
      assert.notEqual((await store.findToken(first.token.id))?.revokedAt, null, 'the previous one is revoked');
      assert.equal((await store.findToken(second.token.id))?.instanceAdmin, true);
      assert.ok((await store.listTokens(org, true)).some((t) => t.id === second.token.id), 'the instance admin sees it');
    });

    test('revoking an enrollment token revokes the workers it enrolled only when asked', async () => {
      const enroll = async (tokenId: string) =>
        store.insertWorker({
          id: newId('wrk'),
          orgId: orgA,
          pool: 'org',
          capabilities: { name: `e-${randomBytes(3).toString('hex')}`, platforms: ['web'], labels: {}, concurrency: 1, version: 'test', executor: 'bwrap' },
          secretHash: randomBytes(32),
          enrollmentTokenId: tokenId,
        });
      const [t1, t2] = [newId('enr'), newId('enr')];
      for (const id of [t1, t2]) await store.insertEnrollmentToken({ id, orgId: orgA, name: 'rack', pool: 'org', secretHash: randomBytes(32) });
      const [w1, w2, w3] = [await enroll(t1), await enroll(t1), await enroll(t2)];
      assert.equal(w1.executor, 'bwrap');
      assert.equal(w1.enrollmentTokenId, t1);
      assert.equal(await store.revokeEnrollmentToken(orgB, t1, false, true), undefined, 'another org cannot');
      const kept = await store.revokeEnrollmentToken(orgA, t2, false);
      assert.deepEqual(kept?.revokedWorkers, []);
      assert.equal((await store.findWorker(w3.id))?.revokedAt, null);
      const revoked = await store.revokeEnrollmentToken(orgA, t1, false, true);
      assert.deepEqual(revoked?.revokedWorkers.sort(), [w1.id, w2.id].sort());
      for (const w of [w1, w2]) assert.notEqual((await store.findWorker(w.id))?.revokedAt, null);
    });

    test('dashboard sessions: stored by hash, revoked once, expired ones swept at the next sign-out; builds keep their submitter', async () => {
      const token = await store.insertToken({ id: newId('tok'), orgId: orgA, name: 'web', role: 'member', instanceAdmin: false, secretHash: randomBytes(32) });
      const hash = randomBytes(32);
      const [live, stale] = [newId('ses'), newId('ses')];
      await store.insertSession({ id: live, tokenId: token.id, secretHash: hash, expiresAt: new Date(Date.now() + 60_000).toISOString() });
      await store.insertSession({ id: stale, tokenId: token.id, secretHash: hash, expiresAt: new Date(Date.now() - 1000).toISOString() });
      const found = await store.findSession(live);
      assert.equal(found?.tokenId, token.id);
      assert.ok(found?.secretHash.equals(hash));
      assert.equal(found?.revokedAt, null);
      assert.equal(await store.findSession(newId('ses')), undefined);
      await store.revokeSession(live);
      const revokedAt = (await store.findSession(live))?.revokedAt;
      assert.notEqual(revokedAt, null);
      await store.revokeSession(live);
      assert.equal((await store.findSession(live))?.revokedAt, revokedAt, 'a second sign-out changes nothing');
      assert.equal(await store.findSession(stale), undefined, 'the expired session is gone');
      const later = newId('ses');
      await store.insertSession({ id: later, tokenId: token.id, secretHash: hash, expiresAt: new Date(Date.now() - 1000).toISOString() });
      await store.insertSession({ id: newId('ses'), tokenId: token.id, secretHash: hash, expiresAt: new Date(Date.now() + 60_000).toISOString() });
      assert.equal(await store.findSession(later), undefined, 'a sign-in sweeps expired sessions too');

      const build = await store.createBuild({
        id: newId('bld'),
        orgId: orgA,
        projectId: projectA,
        spec: spec('web'),
        source: { sha256: sha(), size: 10 },
        credentialsSealed: null,
        retryOf: null,
        submittedBy: 'web',
      });
      assert.equal(build.submittedBy, 'web');
      assert.equal((await store.getBuild(orgA, build.id))?.submittedBy, 'web');
      assert.equal((await enqueue(orgA, projectA, spec('web'))).submittedBy, null);
    });

    test('provenance keys: added, rotated (the others retired); a statement is stored once and read only by its org', async () => {
      const key = (id: string) => ({ id, publicKeyPem: `pem-${id}`, privateSealed: randomBytes(48), createdAt: new Date().toISOString(), retiredAt: null });
      const before = (await store.listProvenanceKeys()).length;
      await store.addProvenanceKey(key(`k1-${sha()}`), false);
      const k2 = key(`k2-${sha()}`);
      await store.addProvenanceKey(k2, true);
      const keys = (await store.listProvenanceKeys()).slice(before);
      assert.equal(keys.length, 2);
      assert.notEqual(keys[0]!.retiredAt, null, 'rotation retired the earlier key');
      assert.equal(keys[1]!.retiredAt, null);
      assert.ok(keys[1]!.privateSealed.equals(k2.privateSealed));
      const artifactId = newId('art');
      const row = { artifact_id: artifactId, build_id: newId('bld'), org_id: orgA, key_id: k2.id, envelope: '{"first":true}', created_at: new Date().toISOString() };
      assert.equal((await store.putProvenance(row)).envelope, '{"first":true}');
      assert.equal((await store.putProvenance({ ...row, envelope: '{"second":true}' })).envelope, '{"first":true}', 'the first statement stands');
      assert.equal((await store.getProvenance(orgA, artifactId))?.keyId, k2.id);
      assert.equal(await store.getProvenance(orgB, artifactId), undefined);
    });

    test('trust rules per org and issuer; exchanged tokens keep their expiry and project and leave the list when expired', async () => {
      const issuer = 'https://token.actions.example';
      const rule = (orgId: string, name: string) => ({
        id: newId('trr'),
        orgId,
        name,
        issuer,
        audience: 'buildmesh',
        condition: 'repository == "acme/app"',
        role: 'member' as const,
        project: name === 'app-main' ? 'app' : null,
        ttlSeconds: 900,
        createdAt: new Date().toISOString(),
      });
      const a = await store.insertTrustRule(rule(orgA, 'app-main'));
      const b = await store.insertTrustRule(rule(orgB, 'other'));
      await assert.rejects(store.insertTrustRule(rule(orgA, 'app-main')), (err: ApiError) => err.code === 'NAME_TAKEN');
      assert.deepEqual(await store.listTrustRules(orgA), [a]);
      // One org's rules only, named by id or by name; another org's rule for the same issuer is never among them.
      const a2 = await store.insertTrustRule(rule(orgA, 'second'));
      assert.deepEqual((await store.orgTrustRulesForIssuer(orgA, issuer)).map((r) => r.id), [a.id, a2.id]);
      assert.deepEqual((await store.orgTrustRulesForIssuer((await store.getOrg(orgA))!.name, issuer)).map((r) => r.id), [a.id, a2.id]);
      assert.deepEqual((await store.orgTrustRulesForIssuer(orgB, issuer)).map((r) => r.id), [b.id]);
      assert.deepEqual(await store.orgTrustRulesForIssuer(orgA, 'https://elsewhere.example'), []);
      assert.deepEqual(await store.orgTrustRulesForIssuer(newId('org'), issuer), [], 'an unknown org id has none');
      assert.deepEqual(await store.orgTrustRulesForIssuer('no-such-org', issuer), [], 'an unknown org name has none');
      await store.deleteTrustRule(orgA, a2.id);
      assert.equal(await store.deleteTrustRule(orgB, a.id), undefined, 'another org cannot');
      assert.deepEqual(await store.deleteTrustRule(orgA, a.id), a);
      assert.deepEqual(await store.listTrustRules(orgA), []);

      const live = await store.insertToken({ id: newId('tok'), orgId: orgA, name: 'oidc:live', role: 'member', instanceAdmin: false, secretHash: randomBytes(32), expiresAt: new Date(Date.now() + 60_000).toISOString(), project: 'app' });
      const gone = await store.insertToken({ id: newId('tok'), orgId: orgA, name: 'oidc:gone', role: 'member', instanceAdmin: false, secretHash: randomBytes(32), expiresAt: new Date(Date.now() - 1000).toISOString() });
      const record = await store.findToken(live.id);
      assert.equal(record?.project, 'app');
      assert.ok(record?.expiresAt && Date.parse(record.expiresAt) > Date.now());
      assert.equal((await store.findToken(gone.id))?.project, null);
      const listed = (await store.listTokens(orgA, false)).map((t) => t.id);
      assert.ok(listed.includes(live.id) && !listed.includes(gone.id));
    });

    test('remote app versions: next raises by one from 1, set moves it, per project and platform, kept apart between orgs', async () => {
      assert.deepEqual(await store.getAppVersion(orgA, projectA, 'android'), { platform: 'android', buildVersion: null, updatedAt: null });
      assert.equal(await store.nextAppVersion(orgA, projectA, 'android'), 1);
      assert.equal(await store.nextAppVersion(orgA, projectA, 'android'), 2);
      assert.equal(await store.nextAppVersion(orgA, projectA, 'ios'), 1);
      const set = await store.setAppVersion(orgA, projectA, 'android', 40);
      assert.equal(set.buildVersion, 40);
      assert.equal(await store.nextAppVersion(orgA, projectA, 'android'), 41);
      assert.equal((await store.getAppVersion(orgA, projectA, 'android')).buildVersion, 41);
      assert.equal((await store.getAppVersion(orgB, projectA, 'android')).buildVersion, null, 'another org reads nothing of it');
      assert.equal(await store.nextAppVersion(orgB, projectB, 'android'), 1);
      // Concurrent submits never get the same number.
      const many = await Promise.all(Array.from({ length: 10 }, () => store.nextAppVersion(orgB, projectB, 'ios')));
      assert.deepEqual([...many].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });

    test('secrets scoped to an environment: one per (name, environment), a build gets the unscoped ones and its environment\'s, which win', async () => {
      const project = (await store.ensureProject(orgA, newId('prj'), `envs-${Date.now()}`)).id;
      const text = (rows: Array<{ name: string; sealed: Buffer }>) =>
        Object.fromEntries(rows.map((r) => [r.name, r.sealed.toString()]).sort(([a], [b]) => a!.localeCompare(b!)));
      await store.putSecret(orgA, project, 'API_URL', Buffer.from('all'));
      await store.putSecret(orgA, project, 'API_URL', Buffer.from('prod'), 'production');
      await store.putSecret(orgA, project, 'API_URL', Buffer.from('prod-2'), 'production'); // replaces, does not add
      await store.putSecret(orgA, project, 'SENTRY', Buffer.from('preview-only'), 'preview');
      await store.putSecret(orgA, project, 'NPM_TOKEN', Buffer.from('npm'));
      assert.deepEqual(
        (await store.listSecrets(orgA, project)).map((s) => [s.name, s.environment ?? null]),
        [['API_URL', null], ['API_URL', 'production'], ['NPM_TOKEN', null], ['SENTRY', 'preview']],
      );
      assert.deepEqual(text(await store.getSealedSecrets(orgA, project, 'production')), { API_URL: 'prod-2', NPM_TOKEN: 'npm' });
      assert.deepEqual(text(await store.getSealedSecrets(orgA, project, 'preview')), { API_URL: 'all', NPM_TOKEN: 'npm', SENTRY: 'preview-only' });
      assert.deepEqual(text(await store.getSealedSecrets(orgA, project)), { API_URL: 'all', NPM_TOKEN: 'npm' }, 'no environment: unscoped only');
      assert.deepEqual(text(await store.getSealedSecrets(orgB, project, 'production')), {}, 'another org reads none');
      assert.equal(await store.deleteSecret(orgA, project, 'SENTRY'), false, 'the unscoped key is not the scoped one');
      assert.equal(await store.deleteSecret(orgA, project, 'API_URL', 'production'), true);
      assert.deepEqual(text(await store.getSealedSecrets(orgA, project, 'production')), { API_URL: 'all', NPM_TOKEN: 'npm' });
      assert.equal(await store.deleteSecret(orgA, project, 'API_URL'), true);
      assert.deepEqual((await store.listSecrets(orgA, project)).map((s) => s.name), ['NPM_TOKEN', 'SENTRY']);
    });
  });
}

/**
 * A real controller, a real worker, a fixture project with a custom build config: the build
 * succeeds, its log reads back in order with phase markers, and the downloaded artifact has the
 * sha256 of the file the step wrote.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { SHA256_HEADER } from '@buildmesh/protocol';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { makeFixtureProject, outputLines, readAllLogs, submitBuild, waitForStatus } from '../helpers/builds.js';
import { bytesOf } from '../helpers/bytes.js';

void test('a custom-config build runs end to end: ordered log with phases, artifact with the right sha256', async (t) => {
  const controller = await startTestController(t);
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken() });
  await waitForWorkerOnline(controller.admin, worker);

  const project = makeFixtureProject(t, [
    { id: 'count', name: 'Count to 200', command: 'for i in $(seq 1 200); do echo "line $i"; done; echo "to stderr" >&2' },
    {
      id: 'write_app',
      name: 'Write the app',
      command: 'mkdir -p out && head -c 300000 /dev/urandom > out/app.bin && sha256sum out/app.bin | cut -d" " -f1 | sed "s/^/sha256=/"',
    },
  ]);
  const build = await submitBuild(controller.admin, project, { profile: { applicationArchivePath: 'out/app.bin' } });
  const ended = await waitForStatus(controller.admin, build.id, ['succeeded', 'failed', 'canceled', 'timed_out']);
  const entries = await readAllLogs(controller.admin, build.id);
  assert.equal(ended.status, 'succeeded', `build ended ${ended.status}: ${JSON.stringify(ended.error)}\n${entries.map((e) => e.text).join('\n')}`);

  // Phases in order, each opened and closed, all successful.
  const markers = entries.filter((e) => e.marker).map((e) => `${e.marker} ${e.phase} ${e.result ?? ''}`.trim());
  assert.deepEqual(markers, [
    'START_PHASE PREPARE_PROJECT',
    'END_PHASE PREPARE_PROJECT success',
    'START_PHASE count',
    'END_PHASE count success',
    'START_PHASE write_app',
    'END_PHASE write_app success',
    'START_PHASE UPLOAD_APPLICATION_ARCHIVE',
    'END_PHASE UPLOAD_APPLICATION_ARCHIVE success',
  ]);
  for (const end of entries.filter((e) => e.marker === 'END_PHASE')) assert.equal(typeof end.durationMs, 'number');

  // Every output line, in the order printed, tagged with its phase, stream and time.
  const counted = entries.filter((e) => e.phase === 'count' && e.stream === 'stdout').map((e) => e.text);
  assert.deepEqual(counted, Array.from({ length: 200 }, (_, i) => `line ${i + 1}`));
  assert.ok(entries.some((e) => e.phase === 'count' && e.stream === 'stderr' && e.text === 'to stderr'));
  for (const e of entries) {
    assert.equal(typeof e.t, 'number');
    assert.equal(e.attempt, 1);
  }
  const times = entries.map((e) => e.t);
  assert.deepEqual(times, [...times].sort((a, b) => a - b), 'timestamps never go back');

  // The artifact: the bytes the step wrote, hash verified on download.
  const printed = outputLines(entries).find((l) => l.startsWith('sha256='))?.slice('sha256='.length);
  assert.match(printed ?? '', /^[0-9a-f]{64}$/);
  const { artifacts } = await controller.admin.listArtifacts(build.id);
  assert.equal(artifacts.length, 1);
  assert.equal(artifacts[0]!.name, 'app.bin');
  assert.equal(artifacts[0]!.kind, 'application-archive');
  assert.equal(artifacts[0]!.size, 300_000);
  assert.equal(artifacts[0]!.sha256, printed);
  const download = await controller.admin.downloadArtifact(build.id, artifacts[0]!.id);
  const bytes = await bytesOf(download);
  assert.equal(bytes.length, 300_000);
  assert.equal(createHash('sha256').update(bytes).digest('hex'), printed);
  assert.equal(download.header(SHA256_HEADER), printed);
});

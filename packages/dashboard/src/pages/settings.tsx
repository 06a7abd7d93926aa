/**
 * Org settings: API tokens and enrollment tokens (admins; a new secret is shown once), and per
 * project its secrets (names only; members set and delete) and which credentials it holds.
 */
import { useEffect, useState } from 'preact/hooks';
import type { CredentialsSummary, EnrollmentTokenInfo, Project, Role, SecretInfo, TokenInfo } from '@buildmesh/protocol/browser';
import { api, errorText } from '../api.js';
import { fullTime, since } from '../format.js';
import { useCan, useSession } from '../session.js';
import { Copyable, Empty } from '../widgets.js';

function Secret({ secret, onDone }: { secret: string; onDone: () => void }) {
  return (
    <div class="callout success" role="status">
      <p>
        <strong>Copy this secret now.</strong> It is shown once and cannot be read again.
      </p>
      <p class="secret-line">
        <code class="mono" data-testid="new-secret">{secret}</code> <Copyable text={secret} label="Copy the new secret" />
      </p>
      <button type="button" class="ghost small" onClick={onDone}>
        Done
      </button>
    </div>
  );
}

function useAction(): [string | null, (fn: () => Promise<void>) => Promise<void>] {
  const [error, setError] = useState<string | null>(null);
  const run = async (fn: () => Promise<void>): Promise<void> => {
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return [error, run];
}

function ApiTokens() {
  const [tokens, setTokens] = useState<TokenInfo[]>([]);
  const [secret, setSecret] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [error, run] = useAction();
  const me = useSession().token.id;
  const load = (): Promise<void> => run(async () => setTokens((await api().listTokens()).tokens));
  useEffect(() => void load(), []);
  return (
    <section class="card" aria-labelledby="api-tokens">
      <h2 id="api-tokens">API tokens</h2>
      {secret && <Secret secret={secret} onDone={() => setSecret(null)} />}
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const created = await api().createToken({ name, role });
            setSecret(created.secret);
            setName('');
            await load();
          });
        }}
      >
        <label>
          <span>Name</span>
          <input required pattern="[a-z0-9][a-z0-9._-]{0,63}" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} placeholder="ci" />
        </label>
        <label>
          <span>Role</span>
          <select value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as Role)}>
            <option value="read-only">read-only</option>
            <option value="member">member</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit" class="primary">
          Create token
        </button>
      </form>
      {error && <p class="form-error" role="alert">{error}</p>}
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col"><span class="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((t) => (
            <tr key={t.id} class={t.revokedAt ? 'revoked' : undefined}>
              <td>
                {t.name} {t.id === me && <span class="chip">this session</span>}
              </td>
              <td>
                <span class={`role role-${t.role}`}>{t.role}</span>
              </td>
              <td title={fullTime(t.createdAt)}>{since(t.createdAt)}</td>
              <td>{since(t.lastUsedAt)}</td>
              <td>
                {t.revokedAt ? (
                  <span class="muted">revoked</span>
                ) : (
                  t.id !== me && (
                    <button
                      type="button"
                      class="danger small"
                      aria-label={`Revoke token ${t.name}`}
                      onClick={() => confirm(`Revoke token ${t.name}?`) && void run(async () => (await api().revokeToken(t.id), await load()))}
                    >
                      Revoke
                    </button>
                  )
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function EnrollmentTokens() {
  const [tokens, setTokens] = useState<EnrollmentTokenInfo[]>([]);
  const [secret, setSecret] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [error, run] = useAction();
  const load = (): Promise<void> => run(async () => setTokens((await api().listEnrollmentTokens()).enrollmentTokens));
  useEffect(() => void load(), []);
  return (
    <section class="card" aria-labelledby="enrollment-tokens">
      <h2 id="enrollment-tokens">Worker enrollment tokens</h2>
      {secret && <Secret secret={secret} onDone={() => setSecret(null)} />}
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const created = await api().createEnrollmentToken(name);
            setSecret(created.secret);
            setName('');
            await load();
          });
        }}
      >
        <label>
          <span>Name</span>
          <input required pattern="[a-z0-9][a-z0-9._-]{0,63}" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} placeholder="mac-minis" />
        </label>
        <button type="submit" class="primary">
          Create enrollment token
        </button>
      </form>
      {error && <p class="form-error" role="alert">{error}</p>}
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Pool</th>
            <th scope="col">Created</th>
            <th scope="col"><span class="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((t) => (
            <tr key={t.id} class={t.revokedAt ? 'revoked' : undefined}>
              <td>{t.name}</td>
              <td>{t.pool}</td>
              <td title={fullTime(t.createdAt)}>{since(t.createdAt)}</td>
              <td>
                {t.revokedAt ? (
                  <span class="muted">revoked</span>
                ) : (
                  <button
                    type="button"
                    class="danger small"
                    aria-label={`Revoke enrollment token ${t.name}`}
                    onClick={() => confirm(`Revoke enrollment token ${t.name}?`) && void run(async () => (await api().revokeEnrollmentToken(t.id), await load()))}
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function ProjectPanel({ project }: { project: Project }) {
  const [secrets, setSecrets] = useState<SecretInfo[]>([]);
  const [credentials, setCredentials] = useState<CredentialsSummary | null>(null);
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [error, run] = useAction();
  const can = useCan();
  const load = (): Promise<void> =>
    run(async () => {
      const [s, c] = await Promise.all([api().listSecrets(project.name), api().getCredentials(project.name)]);
      setSecrets(s.secrets);
      setCredentials(c);
    });
  useEffect(() => void load(), [project.name]);
  return (
    <section class="card" aria-label={`Project ${project.name}`}>
      <h3>{project.name}</h3>
      <p class="muted small">
        Credentials:{' '}
        {credentials?.android ? `Android keystore (alias ${credentials.android.keyAlias})` : 'no Android keystore'} ·{' '}
        {credentials?.ios ? `iOS (${credentials.ios.targets.join(', ')})` : 'no iOS credentials'}
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Secret</th>
            <th scope="col">Updated</th>
            {can.write && <th scope="col"><span class="sr-only">Actions</span></th>}
          </tr>
        </thead>
        <tbody>
          {secrets.length === 0 && (
            <tr>
              <td colSpan={3} class="muted">
                No secrets.
              </td>
            </tr>
          )}
          {secrets.map((s) => (
            <tr key={s.name}>
              <td class="mono">{s.name}</td>
              <td>{since(s.updatedAt)}</td>
              {can.write && (
                <td>
                  <button
                    type="button"
                    class="danger small"
                    aria-label={`Delete secret ${s.name}`}
                    onClick={() => confirm(`Delete secret ${s.name}?`) && void run(async () => (await api().deleteSecret(project.name, s.name), await load()))}
                  >
                    Delete
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {can.write && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              await api().setSecret(project.name, name, value);
              setName('');
              setValue('');
              await load();
            });
          }}
        >
          <label>
            <span>Name</span>
            <input required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} placeholder="SENTRY_AUTH_TOKEN" />
          </label>
          <label>
            <span>Value</span>
            <input required type="password" autocomplete="off" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit">Set secret</button>
        </form>
      )}
      {error && <p class="form-error" role="alert">{error}</p>}
    </section>
  );
}

export function SettingsPage() {
  const session = useSession();
  const can = useCan();
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api()
      .listProjects()
      .then((p) => setProjects(p.projects), (err: unknown) => setError(errorText(err)));
  }, []);
  return (
    <div class="page settings">
      <div class="page-head">
        <h1>Settings</h1>
        <p class="muted">
          Org <strong>{session.org.name}</strong> · signed in as <strong>{session.token.name}</strong> ({session.token.role}), session until{' '}
          {fullTime(session.expiresAt)}
        </p>
      </div>
      {can.admin && <ApiTokens />}
      {can.admin && <EnrollmentTokens />}
      <h2>Projects</h2>
      {error && <p class="form-error" role="alert">{error}</p>}
      {projects?.length === 0 && <Empty title="No projects yet">A project is created by its first build.</Empty>}
      {projects?.map((p) => <ProjectPanel key={p.id} project={p} />)}
    </div>
  );
}

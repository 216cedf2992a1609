import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes, randomInt } from 'node:crypto';
import { AttacheHarness } from '../support/attache-harness';

const execFileAsync = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';
const asPg = (args: string[]) => (process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', ...args]] : [args[0], args.slice(1)]) as [string, string[]];
const NO_ROOM = 'No dedicated PostgreSQL host has room for another cluster.';

/**
 * Dedicated PostgreSQL clusters placed on registered hosts (docs/postgresql.md), with TLS on: the
 * host `local` (the suite's ATTACHE_PG_DEDICATED_PORTS, as the harness registers it) and a second
 * local host answering at 127.0.0.2 on ports of its own. Clusters land on the host placement
 * picks, the URL names that host's address and requires TLS, a draining host gets nothing new,
 * and hosts without room refuse with a clear message.
 */
describe('dedicated PostgreSQL hosts', () => {
  let attache: AttacheHarness;
  const root = join(tmpdir(), `attache-test-pg-hosts-${randomBytes(4).toString('hex')}`);
  let dev: { apiKey: string };
  let app: { id: string; name: string };
  // Ports of its own per jest worker (11100-11999): `local` takes two, `pg-2` two more ten above.
  const worker = (Number(process.env.JEST_WORKER_ID ?? '1') - 1) % 8;
  const portMin = 11_100 + worker * 100 + randomInt(0, 4) * 20;
  /** Provisioned add-ons, destroyed at the end so their clusters stop. */
  const provisioned: string[] = [];

  beforeAll(async () => {
    attache = await AttacheHarness.start({
      postgres: true,
      env: {
        ATTACHE_PG_DEDICATED_DIR: root,
        ATTACHE_PG_DEDICATED_PORTS: `${portMin}-${portMin + 1}`,
        ATTACHE_PG_DEDICATED_TLS: 'on',
        ATTACHE_PG_DEDICATED_ARCHIVE_CHECK_INTERVAL_MS: '60000',
        PROVIDER_TIMEOUT_MS: '30000',
      },
    });
    await attache.dedicatedHosts().register({ name: 'pg-2', address: '127.0.0.2', portMin: portMin + 10, portMax: portMin + 11, capacity: 1 });
    dev = await attache.createAccount('pgh');
    app = await attache.createApp(dev.apiKey);
  });

  afterAll(async () => {
    for (const id of provisioned) await attache?.client(dev.apiKey).delete(`/apps/${app.name}/addons/${id}`);
    for (const id of provisioned) await attache?.waitForAddonGone(dev.apiKey, id, 30_000).catch(() => undefined);
    await attache?.stop();
    // Clusters a failed test left running outlive the file otherwise.
    for (const key of existsSync(root) ? readdirSync(root) : []) {
      const data = join(root, key, 'data');
      if (existsSync(join(data, 'postmaster.pid'))) {
        try {
          execFileSync(...asPg([join(PG_BIN, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']), { cwd: '/', stdio: 'ignore' });
        } catch {
          // already stopped
        }
      }
    }
    rmSync(root, { recursive: true, force: true });
  });

  /** Creates a standard-0 add-on and waits until it is provisioned or has failed. */
  async function provision(alias: string) {
    const response = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: 'postgresql:standard-0', attachment: { name: alias } });
    if (response.status !== 201) throw new Error(`create failed: ${response.status} ${JSON.stringify(response.body)}`);
    const id = response.body.id as string;
    const settled = await attache.waitForAddon(dev.apiKey, id, (a) => a.state === 'provisioned' || a.state === 'deprovisioned', 90_000);
    if (settled.state === 'provisioned') provisioned.push(id);
    return { id, state: settled.state, message: settled.provision_message as string | null, url: (await attache.configVars(dev.apiKey, app.name))[`${alias}_URL`] };
  }

  const hostOf = async (addonId: string) => (await attache.pg.query<{ host: string }>('SELECT host FROM postgres_dedicated_clusters WHERE addon_id = $1', [addonId])).rows[0]?.host;

  /** libpq's answer (psql) to the URL with the given sslmode; the password goes in the environment. */
  async function sslOver(url: string, sslmode: string): Promise<string> {
    const target = new URL(url);
    const password = decodeURIComponent(target.password);
    target.password = '';
    target.searchParams.set('sslmode', sslmode);
    const { stdout } = await execFileAsync(join(PG_BIN, 'psql'), [target.toString(), '-Atc', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'], {
      env: { PATH: process.env.PATH, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' },
    });
    return stdout.trim();
  }

  const loads = async () => Object.fromEntries((await attache.dedicatedHosts().listWithLoad()).map(({ host, clusters }) => [host.name, `${clusters}/${host.capacity} ${host.state}`]));

  it('places a new cluster on the other host while local drains; the URL names that host and requires TLS', async () => {
    // Both empty, `local` would come first (equal shares, then by name): draining it is what sends the cluster to pg-2.
    await attache.dedicatedHosts().setState('local', 'draining');
    const placed = await provision('PLACED');
    expect(placed).toMatchObject({ state: 'provisioned' });
    expect(await hostOf(placed.id)).toBe('pg-2');
    const url = new URL(placed.url);
    expect({ host: url.hostname, port: Number(url.port), sslmode: url.searchParams.get('sslmode') }).toEqual({ host: '127.0.0.2', port: portMin + 10, sslmode: 'require' });

    expect(await sslOver(placed.url, 'require')).toBe('t');
    await expect(sslOver(placed.url, 'disable')).rejects.toThrow(/no encryption/);
    expect(await loads()).toEqual({ local: '0/200 draining', 'pg-2': '1/1 active' });
  });

  it('refuses with a clear message while every host is draining or full, and places on local once it is active again', async () => {
    const refused = await provision('REFUSED');
    expect(refused).toMatchObject({ state: 'deprovisioned', url: undefined });
    expect(refused.message).toContain(NO_ROOM);

    await attache.dedicatedHosts().setState('local', 'active');
    const local = await provision('LOCAL');
    expect(local).toMatchObject({ state: 'provisioned' });
    expect(await hostOf(local.id)).toBe('local');
    const url = new URL(local.url);
    expect({ host: url.hostname, port: Number(url.port), sslmode: url.searchParams.get('sslmode') }).toEqual({ host: '127.0.0.1', port: portMin, sslmode: 'require' });
    expect(await sslOver(local.url, 'require')).toBe('t');
  });

  it('refuses a new cluster when every active host is full', async () => {
    await attache.dedicatedHosts().register({ name: 'local', address: '127.0.0.1', portMin, portMax: portMin + 1, capacity: 1 });
    expect(await loads()).toEqual({ local: '1/1 active', 'pg-2': '1/1 active' });
    const full = await provision('FULL');
    expect(full).toMatchObject({ state: 'deprovisioned', url: undefined });
    expect(full.message).toContain(NO_ROOM);
    expect(await hostOf(full.id)).toBeUndefined();
  });
});

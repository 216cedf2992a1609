import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { randomBytes, randomInt } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { PgPremiumSpec } from '@app/domain';
import { LocalPgClusterDriver } from './local-pg-cluster.driver';
import { LocalPgPremiumDriver } from './local-pg-premium.driver';

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** Live processes whose environment carries the premium cluster's tag (everything started for it). */
function taggedProcesses(key: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (!readFileSync(`/proc/${name}/environ`, 'utf8').includes(`ATTACHE_PG_PREMIUM_MEMBER=${key}/`)) continue;
      if (!/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${name}/stat`, 'utf8'))) pids.push(Number(name));
    } catch {
      // gone
    }
  }
  return pids;
}

/** The addresses that listen on a TCP port (IPv4 dotted, IPv6 as /proc shows it), as `ss -ltn` lists them. */
function listenAddresses(port: number): string[] {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').trim().split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      const [address, hexPort] = local.split(':');
      if (state !== '0A' || parseInt(hexPort, 16) !== port) continue;
      found.push(address.length === 8 ? (address.match(/../g) ?? []).reverse().map((byte) => parseInt(byte, 16)).join('.') : address);
    }
  }
  return found;
}

/** Every file under a directory, recursively. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** A premium formation on real processes: created, a SIGKILLed primary failed over, removal leaving nothing behind. */
describe('LocalPgPremiumDriver', () => {
  const root = join(tmpdir(), `attache-test-pgpremium-${randomBytes(4).toString('hex')}`);
  const portBase = 29_400 + randomInt(0, 40) * 5;
  const options = { rootDir: root, portMin: portBase, portMax: portBase + 4, superviseIntervalMs: 1000, baseBackupIntervalMs: 60_000, archiveRetentionMs: 0 };
  const clusters = new LocalPgClusterDriver(options);
  const driver = new LocalPgPremiumDriver(options, clusters);
  const spec: PgPremiumSpec = {
    // Keys of this run's own: the driver finds a cluster's processes by the key in their environment, whatever the root.
    key: `prem-${randomBytes(4).toString('hex')}`,
    port: portBase + 1,
    monitorPort: portBase,
    nodePorts: [portBase + 1, portBase + 2],
    database: 'd_p',
    ownerRole: 'u_p',
    ownerPassword: randomBytes(12).toString('hex'),
  };
  const running = (pid: number) => existsSync(`/proc/${pid}/stat`) && !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const query = async (port: number, sql: string) => {
    const client = new Client({ host: '127.0.0.1', port, user: spec.ownerRole, password: spec.ownerPassword, database: spec.database, connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  /** A login over 127.0.0.1 as `user`, with `password` or none (and no passfile). */
  const login = async (port: number, user: string, database: string, password?: string) => {
    const client = new Client({ host: '127.0.0.1', port, user, database, password: password ?? '', connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    await client.connect();
    await client.end();
    return true;
  };

  afterAll(async () => {
    await driver.remove(spec).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it('fails over to the standby when the primary dies, and removes everything', async () => {
    await driver.ensure(spec);
    const state = await driver.state(spec);
    expect(state.primaryPort).toBe(spec.nodePorts[0]);
    expect(state.nodes.map((n) => n.state).sort()).toEqual(['primary', 'secondary']);
    // Synchronous replication to the standby (pg_auto_failover's default with one quorum standby).
    await expect(query(spec.port, 'SHOW synchronous_standby_names')).resolves.toEqual([{ synchronous_standby_names: expect.stringMatching(/^ANY 1 \(pgautofailover_standby_\d+\)$/) }]);
    await query(spec.port, 'CREATE TABLE notes (n int)');
    await query(spec.port, 'INSERT INTO notes SELECT generate_series(1, 100)');
    // The superuser is not reachable over TCP.
    await expect(new Client({ host: '127.0.0.1', port: spec.port, user: 'postgres', database: 'postgres' }).connect()).rejects.toThrow();

    // pg_auto_failover's roles have generated passwords, kept in the cluster's passfile only (0600, postgres's).
    const passfile = join(root, spec.key, 'xdg', 'pgpass');
    expect(statSync(passfile).mode & 0o777).toBe(0o600);
    if (process.getuid?.() === 0) expect(statSync(passfile).uid).toBe(Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()));
    const passwords = new Map(readFileSync(passfile, 'utf8').trim().split('\n').map((line) => [line.split(':')[3], line.split(':')[4]] as const));
    const secrets = [passwords.get('autoctl_node')!, passwords.get('pgautofailover_replicator')!];
    for (const secret of secrets) expect(secret).toMatch(/^[0-9a-f]{48}$/);
    for (const member of ['monitor', 'node0', 'node1']) expect(readFileSync(join(root, spec.key, member, 'pg_hba.conf'), 'utf8')).not.toMatch(/^host.*\strust\s*$/m);
    // Over 127.0.0.1 without the password: psql to the monitor as autoctl_node, the replicator to pg_rewind's database; the health checks' role with pg_auto_failover's built-in password.
    const run = promisify(execFile);
    const noPassword = { PATH: '/usr/bin:/bin', PGPASSFILE: '/dev/null' };
    const psql = run(join(PG_BIN, 'psql'), ['-h', '127.0.0.1', '-p', String(spec.monitorPort), '-U', 'autoctl_node', '-d', 'pg_auto_failover', '-w', '-c', 'SELECT 1'], { env: noPassword });
    await expect(psql).rejects.toMatchObject({ stderr: expect.stringMatching(/no password supplied/) });
    await expect(login(spec.port, 'pgautofailover_replicator', 'postgres')).rejects.toThrow(/password/);
    await expect(login(spec.port, 'pgautofailover_monitor', 'postgres', 'pgautofailover_monitor')).rejects.toThrow(/password authentication failed/);
    for (const port of spec.nodePorts) await expect(login(port, 'pgautofailover_replicator', 'postgres', 'wrong')).rejects.toThrow(/password authentication failed/);
    // A base backup of the tenant's data as the replicator, without the password.
    const copy = join(root, 'stolen');
    const basebackup = run(join(PG_BIN, 'pg_basebackup'), ['-h', '127.0.0.1', '-p', String(spec.port), '-U', 'pgautofailover_replicator', '-w', '-D', copy], { env: noPassword });
    await expect(basebackup).rejects.toMatchObject({ stderr: expect.stringMatching(/no password supplied/) });
    expect(existsSync(join(copy, 'PG_VERSION'))).toBe(false);
    // With the passfile's passwords the same logins work: what refuses them above is the password.
    await expect(login(spec.monitorPort, 'autoctl_node', 'pg_auto_failover', passwords.get('autoctl_node'))).resolves.toBe(true);
    await expect(login(spec.port, 'pgautofailover_replicator', 'postgres', passwords.get('pgautofailover_replicator'))).resolves.toBe(true);
    // Every member listens on 127.0.0.1 alone (pg_autoctl's default is '*').
    for (const port of [spec.monitorPort, ...spec.nodePorts]) expect(listenAddresses(port)).toEqual(['127.0.0.1']);

    // Adopting the running formation keeps its passwords.
    await driver.ensure(spec);
    expect(readFileSync(passfile, 'utf8')).toContain(secrets[1]);

    const keeper = Number(readFileSync(join(root, spec.key, 'xdg', 'run', 'pg_autoctl', root.replace(/^\//, ''), spec.key, 'node0', 'pg_autoctl.pid'), 'utf8').split('\n')[0]);
    const postmaster = Number(readFileSync(join(root, spec.key, 'node0', 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(keeper, 'SIGKILL');
    process.kill(postmaster, 'SIGKILL');
    const started = Date.now();
    let after = await driver.state(spec);
    // The 60 s bound of a failover is the end-to-end spec's; here the driver only has to get there, on a machine busy with other suites.
    while (after.primaryPort !== spec.nodePorts[1] && Date.now() - started < 120_000) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      after = await driver.state(spec).catch(() => after);
    }
    expect({ primaryPort: after.primaryPort, nodes: after.nodes }).toMatchObject({ primaryPort: spec.nodePorts[1] });
    expect((await query(spec.nodePorts[1], 'SELECT count(*)::int AS n FROM notes'))[0].n).toBe(100);
    await query(spec.nodePorts[1], 'INSERT INTO notes VALUES (101)');

    // Supervision brings the old primary back as the standby.
    expect(await driver.start(spec)).toBe('running');
    const deadline = Date.now() + 90_000;
    let back = await driver.state(spec);
    while (!back.nodes.some((n) => n.port === spec.nodePorts[0] && n.state === 'secondary') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      back = await driver.state(spec).catch(() => back);
    }
    expect(back.nodes.find((n) => n.port === spec.nodePorts[0])?.state).toBe('secondary');
    // The restarted node (pg_rewind as the replicator, through the passfile) listens on 127.0.0.1 alone too.
    for (const port of [spec.monitorPort, ...spec.nodePorts]) expect(listenAddresses(port)).toEqual(['127.0.0.1']);
    // The passwords are in no process's argv and no log.
    for (const pid of taggedProcesses(spec.key)) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      for (const secret of secrets) expect(argv).not.toContain(secret);
    }
    const logs = [...['monitor', 'node0', 'node1'].map((m) => join(root, spec.key, `${m}.log`)), ...['monitor', 'node0', 'node1'].flatMap((m) => filesUnder(join(root, spec.key, m, 'log')))];
    expect(logs.length).toBeGreaterThan(3);
    for (const file of logs) {
      const text = readFileSync(file, 'utf8');
      for (const secret of secrets) expect(text).not.toContain(secret);
    }

    await driver.remove(spec);
    expect(running(keeper)).toBe(false);
    expect(taggedProcesses(spec.key)).toEqual([]);
    for (const port of [spec.monitorPort, ...spec.nodePorts]) expect(await clusters.isPortFree(port)).toBe(true);
    for (const dir of ['monitor', 'node0', 'node1', 'socket', 'xdg']) expect(existsSync(join(root, spec.key, dir))).toBe(false);
  }, 300_000);

  it('start never creates a formation: supervision racing a destroy does not bring up a monitor where the cluster was', async () => {
    // What remove leaves of a destroyed cluster: its directory with the archive kept for its retention. A port of its own: the first test's formation may still run.
    const gone: PgPremiumSpec = { ...spec, key: `${spec.key}-gone`, monitorPort: portBase + 3 };
    mkdirSync(join(root, gone.key, 'archive', 'wal'), { recursive: true });
    if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres:postgres', join(root, gone.key)]);
    await expect(driver.start(gone)).rejects.toThrow(/no monitor/);
    expect(existsSync(join(root, gone.key, 'monitor'))).toBe(false);
    expect(taggedProcesses(gone.key)).toEqual([]);
    expect(await clusters.isPortFree(gone.monitorPort)).toBe(true);
  }, 120_000);
});

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { randomBytes, randomInt } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { PgPremiumSpec } from '@app/domain';
import { LocalPgClusterDriver } from './local-pg-cluster.driver';
import { LocalPgPremiumDriver } from './local-pg-premium.driver';

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

/** A premium formation on real processes: created, a SIGKILLed primary failed over, removal leaving nothing behind. */
describe('LocalPgPremiumDriver', () => {
  const root = join(tmpdir(), `attache-test-pgpremium-${randomBytes(4).toString('hex')}`);
  const portBase = 29_400 + randomInt(0, 40) * 5;
  const options = { rootDir: root, portMin: portBase, portMax: portBase + 4, superviseIntervalMs: 1000, baseBackupIntervalMs: 60_000, archiveRetentionMs: 0 };
  const clusters = new LocalPgClusterDriver(options);
  const driver = new LocalPgPremiumDriver(options, clusters);
  const spec: PgPremiumSpec = {
    key: 'prem-0',
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
    await driver.ensure(spec);

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
    await driver.start(spec);
    const deadline = Date.now() + 90_000;
    let back = await driver.state(spec);
    while (!back.nodes.some((n) => n.port === spec.nodePorts[0] && n.state === 'secondary') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      back = await driver.state(spec).catch(() => back);
    }
    expect(back.nodes.find((n) => n.port === spec.nodePorts[0])?.state).toBe('secondary');

    await driver.remove(spec);
    expect(running(keeper)).toBe(false);
    expect(taggedProcesses(spec.key)).toEqual([]);
    for (const port of [spec.monitorPort, ...spec.nodePorts]) expect(await clusters.isPortFree(port)).toBe(true);
    for (const dir of ['monitor', 'node0', 'node1', 'socket', 'xdg']) expect(existsSync(join(root, spec.key, dir))).toBe(false);
  }, 300_000);

  it('start never creates a formation: supervision racing a destroy does not bring up a monitor where the cluster was', async () => {
    // What remove leaves of a destroyed cluster: its directory with the archive kept for its retention.
    const gone: PgPremiumSpec = { ...spec, key: 'prem-gone' };
    mkdirSync(join(root, gone.key, 'archive', 'wal'), { recursive: true });
    if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres:postgres', join(root, gone.key)]);
    await expect(driver.start(gone)).rejects.toThrow(/no monitor/);
    expect(existsSync(join(root, gone.key, 'monitor'))).toBe(false);
    expect(taggedProcesses(gone.key)).toEqual([]);
    expect(await clusters.isPortFree(gone.monitorPort)).toBe(true);
  }, 120_000);
});

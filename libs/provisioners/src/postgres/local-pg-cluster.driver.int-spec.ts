import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { randomBytes, randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { PgClusterSpec } from '@app/domain';
import { LocalPgClusterDriver } from './local-pg-cluster.driver';

/**
 * The local driver on real postmasters: one primary shared by the file, a rollback and a
 * follower made from it, a SIGKILLed postmaster started again, and removal leaving nothing running.
 */
describe('LocalPgClusterDriver', () => {
  const root = join(tmpdir(), `attache-test-pgdriver-${randomBytes(4).toString('hex')}`);
  const worker = (Number(process.env.JEST_WORKER_ID ?? '1') - 1) % 8;
  const portBase = 29_700 + worker * 30 + randomInt(0, 5) * 5;
  const driver = new LocalPgClusterDriver({ rootDir: root, portMin: portBase, portMax: portBase + 4, superviseIntervalMs: 1000, baseBackupIntervalMs: 60_000, archiveRetentionMs: 0 });
  const spec = (n: number, names = 'a'): PgClusterSpec => ({
    key: `drv-${n}`,
    port: portBase + n,
    database: `d_${names}`,
    ownerRole: `u_${names}`,
    ownerPassword: randomBytes(12).toString('hex'),
  });
  const primary = spec(0);
  const clients: Client[] = [];

  const connect = async (s: PgClusterSpec) => {
    const client = new Client({ host: '127.0.0.1', port: s.port, user: s.ownerRole, password: s.ownerPassword, database: s.database, connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  };
  const rows = async (s: PgClusterSpec) => (await (await connect(s)).query<{ body: string }>('SELECT body FROM notes ORDER BY body')).rows.map((r) => r.body);
  /** Not a zombie: pid 1 of a container may never reap postmasters reparented to it. */
  const running = (pid: number) => existsSync(`/proc/${pid}/stat`) && !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const pidOf = (s: PgClusterSpec) => Number(readFileSync(join(root, s.key, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);

  beforeAll(async () => {
    await driver.ensure(primary, { kind: 'new' });
    await (await connect(primary)).query('CREATE TABLE notes (body text)');
    await driver.takeBaseBackup(primary);
  });

  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.end()));
  });

  afterAll(async () => {
    for (let n = 0; n < 5; n++) await driver.remove(spec(n)).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it("refuses pg_auto_failover's roles over TCP, password or not (a copy of a premium node keeps them)", async () => {
    const password = randomBytes(12).toString('hex');
    const socket = new Client({ host: join(root, primary.key, 'socket'), port: primary.port, user: 'postgres', database: 'postgres' });
    await socket.connect();
    try {
      await socket.query(`CREATE ROLE pgautofailover_replicator SUPERUSER LOGIN PASSWORD '${password}'`);
    } finally {
      await socket.end();
    }
    const asReplicator = new Client({ host: '127.0.0.1', port: primary.port, user: 'pgautofailover_replicator', password, database: primary.database, connectionTimeoutMillis: 5_000 });
    asReplicator.on('error', () => undefined);
    await expect(asReplicator.connect()).rejects.toThrow(/pg_hba\.conf rejects connection/);
  });

  it('ensures idempotently: a running cluster is adopted, not started again', async () => {
    const pid = pidOf(primary);
    await driver.ensure(primary, { kind: 'new' });
    expect(pidOf(primary)).toBe(pid);
    expect(await driver.isHealthy(primary)).toBe(true);
  });

  it('rolls back to a moment between two writes', async () => {
    const db = await connect(primary);
    await db.query("INSERT INTO notes VALUES ('kept')");
    // The moment noted must not fall in the millisecond of the insert's commit (commit times have microseconds).
    await new Promise((r) => setTimeout(r, 20));
    const noted = new Date();
    await new Promise((r) => setTimeout(r, 50));
    await db.query("DELETE FROM notes WHERE body = 'kept'");
    const rolled = { ...spec(1), database: primary.database, ownerRole: primary.ownerRole };
    await driver.ensure(rolled, { kind: 'rollback', sourceKey: primary.key, target: noted, source: primary });
    expect(await rows(rolled)).toEqual(['kept']);
    expect(await rows(primary)).toEqual([]);
  });

  it('prunes the archive: base backups no window needs and the WAL before the oldest kept', async () => {
    await driver.takeBaseBackup(primary);
    const newest = await driver.takeBaseBackup(primary);
    const wal = join(root, primary.key, 'archive', 'wal');
    const walBefore = readdirSync(wal).filter((name) => /^[0-9A-F]{24}$/.test(name)).sort();
    await driver.pruneArchive(primary.key, { from: new Date(), replayers: [] });
    expect((await driver.baseBackups(primary.key)).map((b) => b.id)).toEqual([newest.id]);
    const walAfter = readdirSync(wal).filter((name) => /^[0-9A-F]{24}$/.test(name)).sort();
    expect(walAfter.length).toBeLessThan(walBefore.length);
    expect(walAfter[walAfter.length - 1]).toBe(walBefore[walBefore.length - 1]);
  });

  it('streams to a follower, reports its lag, and promotes it', async () => {
    const follower = { ...spec(2), database: primary.database, ownerRole: primary.ownerRole, ownerPassword: primary.ownerPassword };
    await driver.ensure(follower, { kind: 'follow', source: primary });
    await (await connect(primary)).query("INSERT INTO notes VALUES ('streamed')");
    const deadline = Date.now() + 20_000;
    while (!(await rows(follower)).includes('streamed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await rows(follower)).toContain('streamed');
    const lag = await driver.lag(follower, primary);
    expect(lag).toEqual({ bytes: expect.any(Number), seconds: expect.any(Number) });
    await driver.promote(follower);
    expect((await driver.status(follower)).inRecovery).toBe(false);
    await (await connect(follower)).query("INSERT INTO notes VALUES ('independent')");
    expect(await rows(primary)).not.toContain('independent');
  });

  it('gives up on a postmaster that dies while a start waits for it to answer, so the next start starts it', async () => {
    const s = spec(4, 'd');
    await driver.ensure(s, { kind: 'new' });
    const pid = pidOf(s);
    // Stopped, it is alive but answers nobody: the start waits for connections as for one still coming up.
    process.kill(pid, 'SIGSTOP');
    const waiting = driver.start(s).then(
      () => null,
      (error: Error) => error,
    );
    await new Promise((r) => setTimeout(r, 1_000));
    process.kill(pid, 'SIGKILL');
    // Well before the start's own deadline (a minute), it says the postmaster exited.
    expect((await waiting)?.message).toMatch(/postmaster exited before accepting connections/);
    const deadline = Date.now() + 30_000;
    let outcome: unknown;
    do {
      outcome = await driver.start(s).catch((error: Error) => error);
      if (outcome !== 'running') await new Promise((r) => setTimeout(r, 200));
    } while (outcome !== 'running' && Date.now() < deadline);
    expect(outcome).toBe('running');
    expect(pidOf(s)).not.toBe(pid);
  });

  it('starts a SIGKILLed cluster again, and removal leaves no process, port or data directory', async () => {
    const pid = pidOf(primary);
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 30_000;
    while ((await driver.isHealthy(primary)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    let started = false;
    while (!started && Date.now() < deadline) {
      started = await driver.start(primary).then(
        () => true,
        () => false,
      );
      if (!started) await new Promise((r) => setTimeout(r, 200));
    }
    expect(started).toBe(true);
    expect(pidOf(primary)).not.toBe(pid);
    expect(await rows(primary)).toContain('streamed');

    const newPid = pidOf(primary);
    await driver.remove(primary);
    const alive = running(newPid);
    expect({ alive, portFree: await driver.isPortFree(primary.port), data: existsSync(join(root, primary.key, 'data')), archive: existsSync(join(root, primary.key, 'archive')) }).toEqual({
      alive: false,
      portFree: true,
      data: false,
      archive: true,
    });
    await driver.purgeArchive(primary.key);
    expect(existsSync(join(root, primary.key))).toBe(false);
  });
});

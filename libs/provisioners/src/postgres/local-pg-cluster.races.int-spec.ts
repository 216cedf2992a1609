import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { Clock, SecretBox } from '@app/common';
import {
  Addon,
  AddonAccess,
  DedicatedCluster,
  DedicatedClusterRepository,
  PgClusterSpec,
  PgDedicatedOptions,
  PgDedicatedService,
  PgDedicatedSources,
  PgPremiumFailovers,
  Store,
} from '@app/domain';
import { LocalPgClusterDriver } from './local-pg-cluster.driver';
import { machineLockAddress } from './machine-lock';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Two workers on one machine, each with its own driver (as two processes have), on real
 * postmasters: supervision restarting a dead cluster while a deprovision removes it, a lock held
 * by another process (then killed), and archive pruning with a follower that is behind.
 */
describe('LocalPgClusterDriver across workers', () => {
  const root = join(tmpdir(), `attache-test-pgraces-${randomBytes(4).toString('hex')}`);
  const worker = (Number(process.env.JEST_WORKER_ID ?? '1') - 1) % 8;
  const portBase = 10_000 + worker * 100 + randomInt(0, 9) * 10;
  const options: PgDedicatedOptions = { rootDir: root, portMin: portBase, portMax: portBase + 9, superviseIntervalMs: 1000, baseBackupIntervalMs: 60_000, archiveRetentionMs: 0 };
  const supervisingWorker = new LocalPgClusterDriver(options);
  const deprovisioningWorker = new LocalPgClusterDriver(options);
  const box = new SecretBox(randomBytes(32));
  const spec = (n: number): PgClusterSpec => ({ key: `race-${n}`, port: portBase + n, database: 'd_race', ownerRole: 'u_race', ownerPassword: randomBytes(12).toString('hex') });
  const children: ChildProcess[] = [];
  const clients: Client[] = [];

  /** Processes (not zombies) whose command line names the cluster's directory: postmasters and pg_ctl. */
  const processesOf = (s: PgClusterSpec): number[] => {
    const dir = join(root, s.key);
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .filter((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg) => arg.startsWith(dir));
        } catch {
          return false;
        }
      })
      .map(Number);
  };
  const leftovers = async (s: PgClusterSpec) => ({
    processes: processesOf(s),
    portFree: await supervisingWorker.isPortFree(s.port),
    data: existsSync(join(root, s.key, 'data')),
  });
  const waitFor = async (what: string, check: () => Promise<boolean>, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
      await sleep(100);
    }
  };
  const pidOf = (s: PgClusterSpec) => Number(readFileSync(join(root, s.key, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  /** SIGKILLs the postmaster and waits until it is reaped: postgres refuses to start while its old pid exists, even as a zombie. */
  const crash = async (s: PgClusterSpec) => {
    const pid = pidOf(s);
    process.kill(pid, 'SIGKILL');
    await waitFor(`postmaster ${pid} of ${s.key} is gone`, async () => !existsSync(`/proc/${pid}`));
  };
  /** As the tenant over TCP, or as the superuser over the cluster's socket. */
  const connect = async (s: PgClusterSpec, as: 'tenant' | 'superuser' = 'tenant') => {
    const where = as === 'tenant' ? { host: '127.0.0.1', user: s.ownerRole, password: s.ownerPassword } : { host: join(root, s.key, 'socket'), user: 'postgres' };
    const client = new Client({ ...where, port: s.port, database: s.database, connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  };

  /** Supervision as the worker runs it, over one cluster record kept here, with its own (per-process) backoff. */
  function supervision(cluster: DedicatedCluster) {
    const repository = { listActive: async () => (cluster.state === 'active' ? [cluster] : []) } as unknown as DedicatedClusterRepository;
    const store = { addons: { findById: async (id: string) => ({ id, state: 'provisioned' }) as Addon } } as unknown as Store;
    const clock = { now: () => new Date() } as Clock;
    return new PgDedicatedService(store, {} as AddonAccess, repository, supervisingWorker, {} as PgDedicatedSources, options, box, clock, {} as PgPremiumFailovers);
  }

  const record = (s: PgClusterSpec): DedicatedCluster => {
    const now = new Date();
    return {
      addonId: `addon-${s.key}`, host: 'local', key: s.key, port: s.port, state: 'active', origin: 'new', sourceAddonId: null, following: false, recoveryTargetAt: null,
      databaseName: s.database, ownerRole: s.ownerRole, ownerPasswordSealed: box.seal(s.ownerPassword), lastBaseBackupAt: now, archiveKeepUntil: null,
      createdAt: now, updatedAt: now, removedAt: null,
    };
  };

  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.end()));
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  afterAll(async () => {
    for (let n = 0; n < 10; n++) await deprovisioningWorker.remove(spec(n)).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it('supervision racing a deprovision in another worker leaves no process, port or data directory, and never starts the cluster again', async () => {
    // Delays (ms) of the supervision run and of the removal: either may win, or they overlap.
    const interleavings = [
      [0, 0],
      [0, 40],
      [40, 0],
      [0, 300],
      [300, 0],
    ];
    for (const [n, [supervisionDelay, removalDelay]] of interleavings.entries()) {
      const s = spec(n);
      await supervisingWorker.ensure(s, { kind: 'new' });
      await crash(s);
      const cluster = record(s);

      const [supervised] = await Promise.all([
        sleep(supervisionDelay).then(() => supervision(cluster).supervise()),
        // The deprovision stops and removes the cluster, and crashes before recording it removed: the record stays active.
        sleep(removalDelay).then(() => deprovisioningWorker.remove(s)),
      ]);
      expect({ interleaving: n, failed: supervised.failed }).toEqual({ interleaving: n, failed: 0 });
      expect({ interleaving: n, ...(await leftovers(s)) }).toEqual({ interleaving: n, processes: [], portFree: true, data: false });

      // Supervision in a fresh worker still sees an active record, and starts nothing.
      expect(await supervision(cluster).supervise()).toEqual({ checked: 1, restarted: 0, failed: 0 });
      expect(await supervisingWorker.start(s)).toBe('removed');
      await expect(supervisingWorker.ensure(s, { kind: 'new' })).rejects.toThrow(/was removed/);
      expect({ interleaving: n, ...(await leftovers(s)) }).toEqual({ interleaving: n, processes: [], portFree: true, data: false });
    }
  });

  it("waits for another process's hold on the cluster, and takes over once that process is killed", async () => {
    const s = spec(5);
    await supervisingWorker.ensure(s, { kind: 'new' });
    const holder = spawn(process.execPath, ['-e', "require('net').createServer().listen('\\0' + process.argv[1], () => console.log('held'))", machineLockAddress(`pg-dedicated:${join(root, s.key)}`).slice(1)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(holder);
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once('data', () => resolve());
      holder.once('exit', (code) => reject(new Error(`The lock holder exited (${code}).`)));
    });

    let removed = false;
    const removal = deprovisioningWorker.remove(s).then(() => {
      removed = true;
    });
    await sleep(1_500);
    expect({ removed, healthy: await supervisingWorker.isHealthy(s) }).toEqual({ removed: false, healthy: true });

    holder.kill('SIGKILL');
    await removal;
    expect(await supervisingWorker.start(s)).toBe('removed');
    expect(await leftovers(s)).toEqual({ processes: [], portFree: true, data: false });
  });

  it('keeps the archived WAL a stopped follower still needs when pruning, so it catches up from the archive', async () => {
    const primary = spec(6);
    const follower = { ...spec(7), ownerPassword: primary.ownerPassword };
    await supervisingWorker.ensure(primary, { kind: 'new' });
    await (await connect(primary)).query('CREATE TABLE notes (body text)');
    await supervisingWorker.takeBaseBackup(primary);
    await supervisingWorker.ensure(follower, { kind: 'follow', source: primary });
    await crash(follower);

    // More WAL than the primary keeps (wal_keep_size 64MB), then checkpoints: the follower's next segments exist only in the archive.
    const db = await connect(primary);
    for (let i = 0; i < 8; i++) {
      await db.query('INSERT INTO notes VALUES ($1)', [`row ${i}`]);
      await supervisingWorker.flushArchive(primary);
    }
    const superuser = await connect(primary, 'superuser');
    await superuser.query('CHECKPOINT');
    await superuser.query('CHECKPOINT');
    await supervisingWorker.takeBaseBackup(primary);
    const newest = await supervisingWorker.takeBaseBackup(primary);

    const walFiles = (dir: string) => readdirSync(dir).filter((name) => /^[0-9A-F]{24}$/.test(name)).sort();
    const archived = () => walFiles(join(root, primary.key, 'archive', 'wal'));
    const label = readFileSync(join(root, primary.key, 'archive', 'base', newest.id, 'backup_label'), 'utf8');
    const newestStart = /START WAL LOCATION: .* \(file ([0-9A-F]{24})\)/.exec(label)![1];
    // Where a restart of the follower begins reading: behind the newest base backup, and gone from the primary's pg_wal.
    const controldata = ['/usr/lib/postgresql/15/bin/pg_controldata', '-D', join(root, follower.key, 'data')];
    const control = process.getuid?.() === 0 ? execFileSync('runuser', ['-u', 'postgres', '--', ...controldata], { cwd: '/' }) : execFileSync(controldata[0], controldata.slice(1));
    const redo = /^Latest checkpoint's REDO WAL file:\s+([0-9A-F]{24})$/m.exec(control.toString())![1];
    expect(redo < newestStart).toBe(true);
    expect(walFiles(join(root, primary.key, 'data', 'pg_wal'))[0] > redo).toBe(true);
    const needed = archived().filter((name) => name >= redo && name < newestStart);

    await supervisingWorker.pruneArchive(primary.key, { from: new Date(), replayers: [follower.key] });
    expect((await supervisingWorker.baseBackups(primary.key)).map((b) => b.id)).toEqual([newest.id]);
    expect(archived().filter((name) => name < newestStart)).toEqual(needed);

    expect(await supervisingWorker.start(follower)).toBe('running');
    const replayed = async () => {
      try {
        return (await (await connect(follower)).query<{ n: number }>('SELECT count(*)::int AS n FROM notes')).rows[0].n === 8;
      } catch {
        return false;
      }
    };
    await waitFor('the follower caught up', replayed, 60_000);

    // With the follower caught up (and restarted past them), what it needed before can go.
    await supervisingWorker.remove(follower);
    await supervisingWorker.pruneArchive(primary.key, { from: new Date(), replayers: [] });
    expect(archived().filter((name) => name < newestStart)).toEqual([]);
  });
});

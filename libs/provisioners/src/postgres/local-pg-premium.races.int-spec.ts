import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgPremiumSpec } from '@app/domain';
import { LocalPgClusterDriver } from './local-pg-cluster.driver';
import { LocalPgPremiumDriver } from './local-pg-premium.driver';
import { machineLockAddress } from './machine-lock';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What is left of a member directory's runtime after a removal: these must all be gone (the archive and the mark stay). */
const MEMBER_PATHS = ['monitor', 'node0', 'node1', 'monitor.new', 'node0.new', 'node1.new', 'socket', 'xdg'];

/**
 * Two workers on one machine, each with its own premium driver (as two processes have), on real
 * pg_auto_failover formations: supervision restarting dead keepers while a deprovision removes
 * the formation, a provision racing a deprovision, and the lock held by another process.
 */
describe('LocalPgPremiumDriver across workers', () => {
  const root = join(tmpdir(), `attache-test-pgpremraces-${randomBytes(4).toString('hex')}`);
  // Eight formations of three ports each, in a block of this run's own.
  const portBase = 13_500 + randomInt(0, 20) * 24;
  const options = { rootDir: root, portMin: portBase, portMax: portBase + 23, superviseIntervalMs: 1000, baseBackupIntervalMs: 60_000, archiveRetentionMs: 0 };
  const clusters = new LocalPgClusterDriver(options);
  const supervisingWorker = new LocalPgPremiumDriver(options, clusters);
  const deprovisioningWorker = new LocalPgPremiumDriver(options, clusters);
  const run = randomBytes(3).toString('hex');
  const children: ChildProcess[] = [];
  const specs: PgPremiumSpec[] = [];

  const formation = (n: number): PgPremiumSpec => {
    const spec: PgPremiumSpec = {
      key: `prace-${run}-${n}`,
      port: portBase + 3 * n + 1,
      monitorPort: portBase + 3 * n,
      nodePorts: [portBase + 3 * n + 1, portBase + 3 * n + 2],
      database: 'd_race',
      ownerRole: 'u_race',
      ownerPassword: randomBytes(12).toString('hex'),
    };
    specs.push(spec);
    return spec;
  };

  const running = (pid: string): boolean => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  };
  /** Running processes (not zombies) of the formation: its tag in their environment, or its directory in their command line. */
  const processesOf = (spec: PgPremiumSpec, autoctlOnly = false): number[] => {
    const dir = join(root, spec.key);
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .filter((pid) => {
        try {
          if (!running(pid)) return false;
          const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
          // A keeper (`/usr/bin/pg_autoctl ...`) and its services (`pg_autoctl: ...`); runuser exits with its keeper.
          if (autoctlOnly && !/^(\/usr\/bin\/pg_autoctl\0|pg_autoctl:)/.test(cmdline)) return false;
          const tagged = `${readFileSync(`/proc/${pid}/environ`, 'utf8')}\0`.includes(`ATTACHE_PG_PREMIUM_MEMBER=${spec.key}/`);
          return tagged || cmdline.split('\0').some((arg) => arg.startsWith(`${dir}/`));
        } catch {
          return false;
        }
      })
      .map(Number);
  };
  /** Ports of the list that something listens on, on any address (/proc/net/tcp and tcp6). */
  const listening = (ports: number[]): number[] => {
    const found = new Set<number>();
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
      for (const line of readFileSync(file, 'utf8').trim().split('\n').slice(1)) {
        const [, local, , state] = line.trim().split(/\s+/);
        const port = parseInt(local.split(':')[1], 16);
        if (state === '0A' && ports.includes(port)) found.add(port);
      }
    }
    return [...found].sort();
  };
  const leftovers = (spec: PgPremiumSpec) => ({
    processes: processesOf(spec),
    listening: listening([spec.monitorPort, ...spec.nodePorts]),
    directories: MEMBER_PATHS.filter((path) => existsSync(join(root, spec.key, path))),
    marked: existsSync(join(root, spec.key, 'removed')),
  });
  const nothingLeft = { processes: [], listening: [], directories: [], marked: true };

  const waitFor = async (what: string, check: () => boolean | Promise<boolean>, ms = 60_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
      await sleep(50);
    }
  };
  /** SIGKILLs every pg_autoctl process of the formation (their postgres may keep running), so supervision has all three keepers to start. */
  const killKeepers = async (spec: PgPremiumSpec) => {
    for (const pid of processesOf(spec, true)) process.kill(pid, 'SIGKILL');
    await waitFor(`no keeper of ${spec.key} runs`, async () => processesOf(spec, true).length === 0 && !(await supervisingWorker.isHealthy(spec)));
  };
  /** A formation that was running, with every keeper dead: what supervision finds after a crash. */
  const crashedFormation = async (n: number): Promise<PgPremiumSpec> => {
    const spec = formation(n);
    await supervisingWorker.ensure(spec);
    await killKeepers(spec);
    return spec;
  };
  /** After a removal: supervision (in either worker) and a provision start nothing, and nothing is left. */
  const expectStaysRemoved = async (spec: PgPremiumSpec, label: string) => {
    expect({ label, ...leftovers(spec) }).toEqual({ label, ...nothingLeft });
    expect(await supervisingWorker.start(spec)).toBe('removed');
    expect(await deprovisioningWorker.start(spec)).toBe('removed');
    await expect(supervisingWorker.ensure(spec)).rejects.toThrow(/was removed/);
    expect({ label, ...leftovers(spec) }).toEqual({ label, ...nothingLeft });
  };

  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  afterAll(async () => {
    for (const spec of specs) await deprovisioningWorker.remove(spec).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it('without a removal, supervision brings back a formation whose keepers all died while their postgres ran', async () => {
    const spec = await crashedFormation(7);
    expect(await supervisingWorker.start(spec)).toBe('running');
    expect(await supervisingWorker.isHealthy(spec)).toBe(true);
    const state = await supervisingWorker.state(spec);
    expect(state.nodes.map((node) => node.port).sort()).toEqual([...spec.nodePorts].sort());
    await deprovisioningWorker.remove(spec);
    expect(leftovers(spec)).toEqual(nothingLeft);
  }, 300_000);

  // Delays (ms) before the supervision run and before the removal: either may win, or they overlap.
  it.each([
    [0, 0, 0],
    [1, 0, 50],
    [2, 50, 0],
    [3, 0, 600],
  ])('interleaving %i: supervision (after %i ms) racing a removal (after %i ms) leaves nothing, and nothing starts afterwards', async (n, supervisionDelay, removalDelay) => {
    const spec = await crashedFormation(n);
    const [started] = await Promise.all([sleep(supervisionDelay).then(() => supervisingWorker.start(spec)), sleep(removalDelay).then(() => deprovisioningWorker.remove(spec))]);
    expect(['running', 'removed']).toContain(started);
    await expectStaysRemoved(spec, `interleaving ${n}`);
  }, 300_000);

  it('a removal that begins while supervision is starting keepers waits for it, then stops what it started', async () => {
    const spec = await crashedFormation(4);
    const order: string[] = [];
    const supervision = supervisingWorker.start(spec).then((outcome) => {
      order.push('supervision');
      return outcome;
    });
    // Supervision holds the lock and has spawned a keeper: the moment the review found a removal could slip in.
    await waitFor('supervision spawned a keeper', () => processesOf(spec, true).length > 0);
    const removal = deprovisioningWorker.remove(spec).then(() => order.push('removal'));
    expect(['running', 'removed']).toContain(await supervision);
    await removal;
    expect(order).toEqual(['supervision', 'removal']);
    await expectStaysRemoved(spec, 'removal during a start');
  }, 300_000);

  it("supervision and removal both waiting for another process's hold: whichever goes first, supervision starts nothing once the removal began", async () => {
    const spec = await crashedFormation(5);
    // The standard driver's lock name for the same directory: one lock for the cluster, premium or not.
    const address = machineLockAddress(`pg-dedicated:${join(root, spec.key)}`);
    const holder = spawn(process.execPath, ['-e', "require('net').createServer().listen('\\0' + process.argv[1], () => console.log('held'))", address.slice(1)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(holder);
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once('data', () => resolve());
      holder.once('exit', (code) => reject(new Error(`The lock holder exited (${code}).`)));
    });

    const done: string[] = [];
    // Supervision found the formation unhealthy before the removal began, and asks first.
    const supervision = supervisingWorker.start(spec).then((outcome) => {
      done.push('supervision');
      return outcome;
    });
    const removal = deprovisioningWorker.remove(spec).then(() => done.push('removal'));
    await waitFor('the removal left its mark', () => existsSync(join(root, spec.key, 'removed')));
    await sleep(1_000);
    // Neither went past the lock: nothing started, nothing removed yet.
    expect({ done, keepers: processesOf(spec, true), monitor: existsSync(join(root, spec.key, 'monitor', 'PG_VERSION')) }).toEqual({ done: [], keepers: [], monitor: true });

    holder.kill('SIGKILL');
    expect(await supervision).toBe('removed');
    await removal;
    await expectStaysRemoved(spec, 'forced');
  }, 300_000);

  it('a provision racing a removal gives up once the removal began, and leaves nothing', async () => {
    const spec = formation(6);
    const provision = supervisingWorker.ensure(spec);
    provision.catch(() => undefined);
    await waitFor('the monitor of the provision runs', () => processesOf(spec).length > 0);
    await deprovisioningWorker.remove(spec);
    await expect(provision).rejects.toThrow(/was removed/);
    await expectStaysRemoved(spec, 'provision');
  }, 300_000);
});

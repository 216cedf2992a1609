/**
 * Mini Redis provisioning latency against starting a redis-server, and the memory of idle
 * instances. Starts Attache's api and worker as real processes on a private database and queue
 * prefix, registers this machine as a Redis host on a private data directory and port block
 * (`redis:hosts:add`), then, one at a time:
 *
 *   - bare:       a redis-server started by this process as LocalRedisDriver starts a node (the
 *                 driver's own ACL and config files, taken from a node it started; `redis-server
 *                 <conf>`, daemonized), until it answers PING; the ratio's denominator;
 *   - ensure:     LocalRedisDriver.ensure for a fresh mini spec, called from this process (the
 *                 driver's lock, checks and PING wait around the same start);
 *   - end to end: POST /apps/{app}/addons {plan: redis:mini} until the add-on is first seen
 *                 `provisioned`. The worker keeps `--spares` spare nodes on the host (the product's
 *                 default, 2, unless given; 0 turns them off), and each round first waits until the
 *                 pool is full, as a host at steady state has it: the provision claims a spare, and
 *                 the refill after it is not timed.
 *
 * The three are interleaved, so drift in the machine's speed hits them alike. Prints p50/p90/max
 * of each, the p50 ratio of end to end over bare, where the times went, and the memory of idle
 * instances: every mini the rounds made, a premium-0 (two nodes and a sentinel) and a bare server.
 *
 *   npm run build && node bin/run.js bench-redis-provision [--n 30] [--warmup 3] [--ports 30000-30999] [--idle-ms 3000] [--supervise-ms 1000] [--spares 2]
 *
 * `--supervise-ms` is the worker's supervision interval (ATTACHE_REDIS_SUPERVISE_INTERVAL_MS;
 * the product's default, 1000, unless given): every interval the worker runs `ensure` on every
 * provisioned instance, so the instances of earlier rounds cost the later ones some CPU.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { RedisInstanceSpec, redisPlanShape } from '@app/domain';
import { jobIds } from '@app/queues';
// The adapter itself, not its module: the second baseline must be exactly what the worker runs.
import { LocalRedisDriver } from '../libs/provisioners/src/redis/local-redis.driver';
import { BenchAttache } from './bench-attache';
import { addParts, arg, freePort, line, stats } from './bench-processes';

const execFileAsync = promisify(execFile);
const N = Number(arg('n', '30'));
const WARMUP = Number(arg('warmup', '3'));
/** Outside the driver's default block (17000-17999) and the tests', so the bench never collides with them. */
const PORTS = arg('ports', '30000-30999');
/** How long instances sit untouched before their memory is read. */
const IDLE_MS = Number(arg('idle-ms', '3000'));
const SUPERVISE_MS = arg('supervise-ms', '');
/** Spare nodes per host (ATTACHE_REDIS_SPARES); the product's default unless given. */
const SPARES = arg('spares', '');
const SPARES_PER_HOST = Number(SPARES || '2');
const TARGET = 1.5;
/** The bare server's PING poll: as tight as can be without taking the CPU the starting server needs. */
const BARE_POLL_MS = 1;
const MINI = { ...redisPlanShape({ name: 'mini' }), maxmemoryPolicy: 'noeviction' as const, timeoutSeconds: 0 };

/**
 * Where one end-to-end provision's time went, between marks from the add-on's and instance's rows
 * (the api's and worker's clocks), BullMQ's event stream (Redis's clock) and the new node's log
 * (its clock): one machine, one wall clock, whole ms. (The instance's files are no help: their
 * mtimes move in the kernel's coarse steps of up to 4 ms.)
 */
const PARTS = [
  ['request → add-on row', 'HTTP, auth, access check, catalog reads in the api'],
  ['→ job queued', "the api's transaction, then the enqueue"],
  ['→ job active', 'queue pickup by the worker'],
  ['→ instance placed', "job reads; placement: lock, count, ports taken, each port's bind test (to its clock)"],
  ['→ redis-server runs', 'instance insert, COMMIT; ensure: flock(1) child, checks, ACL and config files, exec of redis-server'],
  ['→ redis ready', "redis-server's own start (log: starting → Ready to accept connections)"],
  ['→ provisioned', 'daemon parent exit seen, PING as admin, lock released, final transaction to its clock'],
  ['→ provisioned seen', 'config vars, release, events, COMMIT, NOTIFY'],
] as const;
/** The same marks for a provision that claimed a spare: no server starts on its path. */
const SPARE_PARTS = [
  ['request → add-on row', 'HTTP, auth, access check, catalog reads in the api'],
  ['→ job queued', "the api's transaction, then the enqueue"],
  ['→ job active', 'queue pickup by the worker'],
  ['→ placement begins', "job reads, to the placement's clock (read before its transaction)"],
  ['→ provisioned', "the claim (host lock, claim, instance insert, COMMIT: one round trip); the spare's setup (ACL and config files, CONFIG SET, ACL LOAD: one round trip); final transaction to its clock"],
  ['→ provisioned seen', 'config vars, release, events, COMMIT, NOTIFY'],
] as const;
/** The part with the driver's PING wait. */
const PROVISIONED_PART = 6;
/** The same marks for the driver called directly, from the call to its return. */
const ENSURE_PARTS = [
  ['call → redis-server runs', 'flock(1) child, checks, ACL and config files, exec of redis-server'],
  ['→ redis ready', "redis-server's own start"],
  ['→ returned', 'daemon parent exit seen, PING as admin, lock released'],
] as const;
const BARE_PARTS = [
  ['call → redis-server runs', 'ACL and config files, exec of redis-server'],
  ['→ redis ready', "redis-server's own start"],
  ['→ PING answered', 'daemon parent exit seen, AUTH and PING (polled every 1 ms)'],
] as const;

function partLines(labels: readonly (readonly [string, string])[], parts: number[][]): string[] {
  return labels.map(([label, what], k) => {
    const s = stats(parts[k]);
    return `    ${label.padEnd(24)} ${s.p50.toFixed(1).padStart(6)} / ${s.p90.toFixed(1).padStart(6)}   ${what}`;
  });
}
const missed = (values: number[]) => values.filter((v) => v >= 50).length;
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Wall-clock ms of the first log line containing `text` ("pid:M 26 Nov 2026 07:36:05.237 * …", local time). */
function logTime(log: string, text: string): number {
  const found = readFileSync(log, 'utf8')
    .split('\n')
    .find((l) => l.includes(text));
  const stamp = found?.match(/^\d+:[A-Z] (\d+ \w+ \d+ \d\d:\d\d:\d\d\.\d+)/)?.[1];
  if (!stamp) throw new Error(`no "${text}" line in ${log}`);
  return new Date(stamp).getTime();
}
/** A node's start, from its log: [redis-server running (daemonized, config read), ready]. */
function nodeMarks(nodeDir: string): number[] {
  const log = join(nodeDir, 'redis.log');
  return [logTime(log, 'Redis is starting'), logTime(log, 'Ready to accept connections')];
}

/** VmRSS and RssAnon (kB) of a live process. */
function memoryOf(pid: number): { rss: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
  return { rss: field('VmRSS'), anon: field('RssAnon') };
}
/** CPU ms a process and its reaped children (the worker's flock(1) runs) have used, from /proc. */
function cpuMs(pid: number): number {
  // Fields after the command name: utime, stime, cutime, cstime are the 12th to 15th, in USER_HZ (100 on Linux).
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) * 10;
}
const pidIn = (pidfile: string) => Number(readFileSync(pidfile, 'utf8').trim());
/** Alive and not a zombie (daemons are reparented to pid 1, which in a container may never reap them). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}
async function kill(pid: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5_000;
  while (alive(pid) && Date.now() < deadline) await sleep(20);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/** A client as the driver makes them: one per use, no retries. */
function client(port: number, username: string | undefined, password: string): Redis {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    username,
    password,
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 4_000,
    retryStrategy: () => null,
    disableClientInfo: true,
  });
  redis.on('error', () => undefined);
  return redis;
}
async function withClient<T>(port: number, username: string | undefined, password: string, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = client(port, username, password);
  try {
    await c.connect();
    return await fn(c);
  } finally {
    if (c.status !== 'end') c.disconnect();
  }
}
async function usedMemory(port: number, username: string | undefined, password: string): Promise<number> {
  const info = await withClient(port, username, password, (c) => c.info('memory'));
  return Number(info.match(/^used_memory:(\d+)/m)?.[1] ?? NaN);
}

/** A node's ACL and config files as LocalRedisDriver writes them, with what differs between nodes as placeholders. */
interface NodeFiles {
  acl: string;
  conf: string;
}

/**
 * The files the driver writes for a mini node (its nodeConf and aclFile are private): taken from
 * one node it starts, untimed, so the bare server runs exactly the driver's configuration. Only
 * the directory, the port and the `app` user's password change from node to node; Attache's own
 * users keep that node's secrets, which the bare server has no use for (it is pinged as `app`).
 */
async function driverFiles(driver: LocalRedisDriver, dataDir: string): Promise<NodeFiles> {
  const spec = benchSpec(dataDir, await freePort());
  try {
    await driver.ensure(spec);
    const nodeDir = join(dataDir, spec.key, `node-${spec.nodePorts[0]}`);
    const template = (file: string) => {
      let text = readFileSync(join(nodeDir, file), 'utf8');
      text = text.split(nodeDir).join('{{DIR}}').split(sha256(spec.password)).join('{{APP_HASH}}');
      // The port's line only: the node's secrets could hold its digits.
      return text.replace(new RegExp(`^port ${spec.nodePorts[0]}$`, 'm'), 'port {{PORT}}');
    };
    const files = { acl: template('users.acl'), conf: template('redis.conf') };
    if (!files.acl.includes('user app on #{{APP_HASH}} ') || !files.conf.includes('\nport {{PORT}}\n')) {
      throw new Error(`LocalRedisDriver's files changed shape; the bench cannot start a bare node like them:\n${files.acl}\n${files.conf}`);
    }
    return files;
  } finally {
    await driver.destroy(spec);
  }
}

/** A fresh mini spec for the driver, on a port nothing listens on now. */
function benchSpec(dataDir: string, port: number): RedisInstanceSpec {
  return {
    key: `bench_${randomBytes(6).toString('hex')}`,
    host: { id: 'bench', name: 'bench', address: '127.0.0.1', dataDir },
    nodePorts: [port],
    primaryIndex: 0,
    sentinelPort: null,
    password: randomBytes(30).toString('base64url'),
    internalPassword: randomBytes(30).toString('base64url'),
    ...MINI,
  };
}

/** A node started as the driver starts one (its files, `redis-server <conf>` daemonized), until it answers PING. Returns its pidfile. */
async function startBare(files: NodeFiles, dir: string, port: number, password: string): Promise<string> {
  const fill = (template: string) =>
    [
      ['{{DIR}}', dir],
      ['{{APP_HASH}}', sha256(password)],
      ['{{PORT}}', String(port)],
    ].reduce((text, [placeholder, value]) => text.split(placeholder).join(value), template);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, 'users.acl'), fill(files.acl), { mode: 0o600 });
  await writeFile(join(dir, 'redis.conf'), fill(files.conf), { mode: 0o600 });
  await execFileAsync('redis-server', [join(dir, 'redis.conf')], { timeout: 10_000 });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await withClient(port, 'app', password, (c) => c.ping());
      return join(dir, 'redis.pid');
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`bare redis-server on ${port} did not answer PING: ${(error as Error).message}`);
      await sleep(BARE_POLL_MS);
    }
  }
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'attache-bench-redis-'));
  const [dataDir, bareDir, ensureDir, backupDir] = ['instances', 'bare', 'ensure', 'backups'].map((d) => join(tmp, d));
  // The driver logs each start and destroy through Nest's logger; the figures are the output here.
  Logger.overrideLogger(['error', 'warn']);
  const driver = new LocalRedisDriver();
  /** The driver's own instances not yet destroyed. */
  const ensured = new Set<RedisInstanceSpec>();
  const barePids = new Set<number>();
  const attache = await BenchAttache.open({
    backupDir,
    env: {
      // The host the bench registers below has its own; nothing of the run may point at the user's directory or ports either.
      ATTACHE_REDIS_DATA_DIR: dataDir,
      ATTACHE_REDIS_PORTS: PORTS,
      ...(SUPERVISE_MS ? { ATTACHE_REDIS_SUPERVISE_INTERVAL_MS: SUPERVISE_MS } : {}),
      ...(SPARES ? { ATTACHE_REDIS_SPARES: SPARES } : {}),
    },
  });
  try {
    await attache.start(['redis:hosts:add', '--name', 'local', '--ports', PORTS, '--data-dir', dataDir]);
    const { db, worker } = attache;
    const hosts = (await db.query<{ name: string; data_dir: string }>('SELECT name, data_dir FROM redis_hosts')).rows;
    if (hosts.length !== 1 || hosts[0].data_dir !== dataDir) throw new Error(`expected the one host the bench registered, found ${JSON.stringify(hosts)}`);
    const provisioned = await attache.listenProvisioned();
    /** POST, then the NOTIFY. */
    const create = (app: string, plan: string) => attache.createAddon(app, plan, provisioned);

    const spareFull = async () => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const ready = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM redis_spares WHERE state = 'ready'`)).rows[0].n);
        if (ready >= SPARES_PER_HOST) return;
        if (Date.now() > deadline) throw new Error(`the spare pool did not fill (${ready} of ${SPARES_PER_HOST} ready)`);
        await sleep(20);
      }
    };
    const files = await driverFiles(driver, ensureDir);
    const apps: string[] = [];
    for (let i = 0; i < N + WARMUP; i++) apps.push(await attache.createApp());

    const bare: number[] = [];
    const ensure: number[] = [];
    const endToEnd: number[] = [];
    const post: number[] = [];
    const bareParts: number[][] = BARE_PARTS.map(() => []);
    const ensureParts: number[][] = ENSURE_PARTS.map(() => []);
    const measured: { id: string; app: string; total: number; wall0: number }[] = [];
    for (let i = 0; i < WARMUP + N; i++) {
      const counted = i >= WARMUP;

      const bareNode = join(bareDir, `node-${i}`);
      const barePort = await freePort();
      let wall0 = Date.now();
      let t0 = performance.now();
      const pidfile = await startBare(files, bareNode, barePort, randomBytes(30).toString('base64url'));
      let took = performance.now() - t0;
      const barePid = pidIn(pidfile);
      barePids.add(barePid);
      if (counted) {
        bare.push(took);
        const marks = nodeMarks(bareNode).map((at) => at - wall0);
        marks.push(took);
        addParts(bareParts, marks);
      }
      await kill(barePid);
      barePids.delete(barePid);

      const spec = benchSpec(ensureDir, await freePort());
      ensured.add(spec);
      wall0 = Date.now();
      t0 = performance.now();
      await driver.ensure(spec);
      took = performance.now() - t0;
      if (counted) {
        ensure.push(took);
        const marks = nodeMarks(join(ensureDir, spec.key, `node-${spec.nodePorts[0]}`)).map((at) => at - wall0);
        marks.push(took);
        addParts(ensureParts, marks);
      }
      await driver.destroy(spec);
      ensured.delete(spec);

      // A host at steady state: the pool full before the provision (the refill of the last claim done).
      await spareFull();
      const run = await create(apps[i], 'redis:mini');
      if (!counted) continue;
      endToEnd.push(run.total);
      post.push(run.post);
      measured.push({ id: run.id, app: apps[i], total: run.total, wall0: run.wall0 });
    }

    const queued = await attache.queueMarks();
    const instanceOf = async (id: string) =>
      (
        await db.query<{ created: Date; placed: Date; finished: Date; ports: number[]; sentinel: number | null; key: string }>(
          `SELECT a.created_at AS created, i.created_at AS placed, a.provisioned_at AS finished, i.node_ports AS ports, i.sentinel_port AS sentinel, i.key
             FROM addons a JOIN redis_instances i ON i.addon_id = a.id WHERE a.id = $1`,
          [id],
        )
      ).rows[0];
    const parts: number[][] = PARTS.map(() => []);
    const spareParts: number[][] = SPARE_PARTS.map(() => []);
    /** End to end of the rounds that claimed a spare, and of those that started a node. */
    const onSpare: number[] = [];
    const fresh: number[] = [];
    const minis: { app: string; pidfile: string; port: number }[] = [];
    for (const { id, app, total, wall0 } of measured) {
      const row = await instanceOf(id);
      const { added, active } = queued.get(jobIds.provision(id)) ?? {};
      if (added === undefined || active === undefined) throw new Error(`no queue events for ${id}`);
      const instanceDir = join(dataDir, row.key);
      const nodeDir = join(instanceDir, `node-${row.ports[0]}`);
      const [starting] = nodeMarks(nodeDir);
      // A claimed spare was started before the request (and keeps its key, `s_…`).
      if (row.key.startsWith('s_') && starting < wall0) {
        onSpare.push(total);
        const marks = [row.created.getTime(), added, active, row.placed.getTime(), row.finished.getTime()].map((at) => at - wall0);
        marks.push(total);
        addParts(spareParts, marks);
      } else {
        fresh.push(total);
        const marks = [row.created.getTime(), added, active, row.placed.getTime(), ...nodeMarks(nodeDir), row.finished.getTime()].map((at) => at - wall0);
        marks.push(total);
        addParts(parts, marks);
      }
      minis.push({ app, pidfile: join(nodeDir, 'redis.pid'), port: row.ports[0] });
    }


    // Memory. A premium-0 (untimed beyond one figure) and a bare server, then everything sits idle.
    const premiumApp = await attache.createApp();
    const premium = await create(premiumApp, 'redis:premium-0');
    const premiumRow = await instanceOf(premium.id);
    const premiumDir = join(dataDir, premiumRow.key);
    const bareIdleDir = join(bareDir, 'idle');
    const bareIdle = { port: await freePort(), password: randomBytes(30).toString('base64url') };
    const bareIdlePid = pidIn(await startBare(files, bareIdleDir, bareIdle.port, bareIdle.password));
    barePids.add(bareIdlePid);
    const idleFrom = { cpu: cpuMs(worker.pid!), at: performance.now() };
    await sleep(IDLE_MS);
    const workerIdle = (cpuMs(worker.pid!) - idleFrom.cpu) / ((performance.now() - idleFrom.at) / 1000);
    // After the idle wait: the last round's claim has been refilled by then.
    const spareRows = (await db.query<{ key: string; port: number }>(`SELECT key, port FROM redis_spares WHERE state = 'ready'`)).rows;
    const appUrl = async (app: string) => {
      const vars = (await (await attache.fetch(`/apps/${app}/config-vars`)).json()) as Record<string, string>;
      return new URL(vars.REDIS_URL);
    };
    const miniRss: number[] = [];
    const miniAnon: number[] = [];
    const miniUsed: number[] = [];
    for (const mini of minis) {
      const memory = memoryOf(pidIn(mini.pidfile));
      miniRss.push(memory.rss);
      miniAnon.push(memory.anon);
      const url = await appUrl(mini.app);
      if (Number(url.port) !== mini.port) throw new Error(`REDIS_URL names port ${url.port}, the instance runs on ${mini.port}`);
      miniUsed.push(await usedMemory(mini.port, url.username, decodeURIComponent(url.password)));
    }
    const premiumUrl = await appUrl(premiumApp);
    const premiumProcesses = [
      ...premiumRow.ports.map((p, k) => ({ label: k === 0 ? 'primary' : 'standby', port: p, pidfile: join(premiumDir, `node-${p}`, 'redis.pid') })),
      { label: 'sentinel', port: premiumRow.sentinel!, pidfile: join(premiumDir, `sentinel-${premiumRow.sentinel}`, 'sentinel.pid') },
    ].map((p) => ({ ...p, ...memoryOf(pidIn(p.pidfile)) }));
    const premiumUsed = await Promise.all(premiumRow.ports.map((p) => usedMemory(p, premiumUrl.username, decodeURIComponent(premiumUrl.password))));
    const spareMemory = spareRows.flatMap((spare) => {
      try {
        return [memoryOf(pidIn(join(dataDir, spare.key, `node-${spare.port}`, 'redis.pid')))];
      } catch {
        return [];
      }
    });
    const bareMemory = memoryOf(bareIdlePid);
    const bareUsed = await usedMemory(bareIdle.port, 'app', bareIdle.password);
    await kill(bareIdlePid);
    barePids.delete(bareIdlePid);

    const ratio = stats(endToEnd).p50 / stats(bare).p50;
    const kib = (values: number[]) => `p50 ${mib(stats(values).p50)}, max ${mib(stats(values).max)}`;
    process.stdout.write(
      [
        `redis provisioning: ${N} mini instances one at a time on host local (ports ${PORTS}), after ${WARMUP} warm-up rounds; supervision every ${SUPERVISE_MS || process.env.ATTACHE_REDIS_SUPERVISE_INTERVAL_MS || '1000 (default)'} ms; ${SPARES_PER_HOST > 0 ? `${SPARES_PER_HOST} spare nodes${SPARES ? '' : ' (default)'}, the pool full before each round` : 'no spare nodes'}; provisioned seen by LISTEN`,
        line('bare redis-server start', bare),
        line('LocalRedisDriver.ensure', ensure),
        line('end to end (API → seen)', endToEnd),
        line('  of which POST until 201', post),
        `  ratio end to end / bare start at p50: ${ratio.toFixed(2)} (target ≤ ${TARGET}: ${ratio <= TARGET ? 'met' : 'NOT met'}); end to end / ensure: ${(stats(endToEnd).p50 / stats(ensure).p50).toFixed(2)}`,
        `  bare start by part, p50 / p90 ms (log marks in whole ms):`,
        ...partLines(BARE_PARTS, bareParts),
        `  ensure by part, p50 / p90 ms (log marks in whole ms):`,
        ...partLines(ENSURE_PARTS, ensureParts),
        `  rounds on a claimed spare: ${onSpare.length} of ${N}${onSpare.length > 0 ? `, end to end p50 ${stats(onSpare).p50.toFixed(1)} ms` : ''}; rounds that started a node: ${fresh.length}${fresh.length > 0 ? `, end to end p50 ${stats(fresh).p50.toFixed(1)} ms` : ''}`,
        ...(onSpare.length > 0 ? [`  end to end on a claimed spare by part, p50 / p90 ms (marks in whole ms):`, ...partLines(SPARE_PARTS, spareParts)] : []),
        ...(fresh.length > 0
          ? [
              `  end to end starting a node by part, p50 / p90 ms (marks in whole ms):`,
              ...partLines(PARTS, parts),
              `    rounds whose PING wait took ≥ 50 ms (a first PING refused, then the driver's 100 ms poll): ensure ${missed(ensureParts[ENSURE_PARTS.length - 1])} of ${N}, end to end ${missed(parts[PROVISIONED_PART])} of ${fresh.length}`,
            ]
          : []),
        `    end to end p50 − bare start p50: ${(stats(endToEnd).p50 - stats(bare).p50).toFixed(1)} ms around the start of the redis-server`,
        `memory after ${IDLE_MS} ms idle (VmRSS; RssAnon is what is not shared with other redis-servers):`,
        `  mini, ${minis.length} instances: VmRSS ${kib(miniRss)}; RssAnon ${kib(miniAnon)}; used_memory p50 ${mib(stats(miniUsed).p50 / 1024)}`,
        `  premium-0 (provisioned end to end in ${premium.total.toFixed(0)} ms): ${premiumProcesses.map((p) => `${p.label} ${mib(p.rss)} (anon ${mib(p.anon)})`).join(', ')}; total VmRSS ${mib(premiumProcesses.reduce((s, p) => s + p.rss, 0))}; used_memory ${premiumUsed.map((u) => mib(u / 1024)).join(' / ')}`,
        `  worker CPU meanwhile (supervision of ${minis.length + 1} instances): ${workerIdle.toFixed(0)} ms per second, ${(workerIdle / (minis.length + 1)).toFixed(1)} ms per instance per second`,
        `  bare redis-server, same config: VmRSS ${mib(bareMemory.rss)} (anon ${mib(bareMemory.anon)}); used_memory ${mib(bareUsed / 1024)}`,
        ...(spareMemory.length > 0 ? [`  spare nodes, ${spareMemory.length} ready: VmRSS ${kib(spareMemory.map((m) => m.rss))}; RssAnon ${kib(spareMemory.map((m) => m.anon))}`] : []),
      ].join('\n') + '\n',
    );
  } finally {
    // The add-ons as a user would destroy them, then the worker stops their processes.
    await attache.stop('redis_instances', 'stopping their processes directly');
    // What is left (any instance the worker did not get to, the bare servers, the driver's own) goes here.
    const leftovers: number[] = [...barePids];
    const pidfiles = (dir: string) =>
      existsSync(dir)
        ? readdirSync(dir, { recursive: true, encoding: 'utf8' })
            .filter((f) => f.endsWith('.pid'))
            .map((f) => join(dir, f))
        : [];
    for (const file of [dataDir, bareDir].flatMap(pidfiles)) {
      try {
        const pid = pidIn(file);
        if (alive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server') && !leftovers.includes(pid)) leftovers.push(pid);
      } catch {
        // Gone meanwhile.
      }
    }
    // The worker's spare nodes stay when it stops (they are the host's, not an add-on's): they are stopped here too.
    if (leftovers.length > 0) process.stderr.write(`${leftovers.length} redis-server processes (spare nodes, and any other the worker left) outlived the run; stopping them\n`);
    for (const pid of leftovers) await kill(pid).catch(() => undefined);
    for (const spec of ensured) await driver.destroy(spec).catch((error: Error) => process.stderr.write(`could not destroy ${spec.key}: ${error.message}\n`));
    rmSync(tmp, { recursive: true, force: true });
    await attache.dispose();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

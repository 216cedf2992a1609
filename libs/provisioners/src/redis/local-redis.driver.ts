import { execFile, spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { FileHandle, chmod, mkdir, open, readFile, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { RedisDriver, RedisInfo, RedisInstanceSpec, RedisSpareSpec } from '@app/domain';

/**
 * Connections kept beyond the plan's client limit for Attache itself (supervision, info, the
 * standby's replication link, the sentinel's): Redis counts them against `maxclients` too, and
 * a tenant using all its clients must not lock Attache out.
 */
const INTERNAL_CLIENTS = 6;

const execFileAsync = promisify(execFile);

const LOOPBACK = '127.0.0.1';
const CONNECT_TIMEOUT_MS = 2_000;
/** Started nodes and sentinels must answer PING within this. */
const START_WAIT_MS = 10_000;
/** A live process that does not answer (still loading, hung) gets this long before it is replaced. */
/** Best effort: a freshly started replica usually finishes its first sync within this. */
const LINK_WAIT_MS = 10_000;
/** SIGTERM, then SIGKILL after this; then as long again for the exit. */
const STOP_WAIT_MS = 5_000;
const FAILOVER_WAIT_MS = 20_000;
/** How long a manual failover lets the standby catch up while the primary's writes wait. */
const CATCH_UP_WAIT_MS = 3_000;
const LOCK_WAIT_SECONDS = 60;
const POLL_MS = 100;

const SENTINEL_DOWN_AFTER_MS = 2_000;
const SENTINEL_FAILOVER_TIMEOUT_MS = 10_000;

/**
 * The tenant may do anything to its own server except administer it. MIGRATE is denied too: it
 * makes the server connect to any address, e.g. another port on this host.
 */
/**
 * The tenant: every key and command but the administrative ones and MIGRATE (which would let it
 * make its server connect elsewhere), and every channel but `__sentinel__:*`, where a forged
 * hello would make the sentinel switch to (and authenticate against) any address.
 */
const APP_RULES = '~* resetchannels &[^_]* &_[^_]* &__[^s]* &__s[^e]* +@all -@admin -migrate';
const ADMIN_RULES = '~* &* +@all';
const REPLICATION_RULES = '+psync +replconf +ping';
/** The list Redis's sentinel documentation gives for a sentinel's user on the monitored nodes. */
const SENTINEL_RULES =
  'allchannels +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish +info +client|setname +client|kill +script|kill';

type Auth = { username?: string; password: string };

interface NodePaths {
  dir: string;
  conf: string;
  acl: string;
  pidfile: string;
  log: string;
}

interface SentinelPaths {
  dir: string;
  conf: string;
  pidfile: string;
  log: string;
}

type DestroySpec = Pick<RedisInstanceSpec, 'key' | 'host' | 'nodePorts' | 'sentinelPort'>;

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * Each of Attache's roles on an instance has its own secret, derived from the instance's one
 * internal password: the replication and sentinel secrets must sit in plain text in config files
 * (Redis reads them from there), and neither may open the admin user.
 */
const SECRET_ROLES = ['admin', 'replication', 'sentinel', 'sentinel-admin'] as const;
export const secretFor = (spec: Pick<RedisInstanceSpec, 'internalPassword'>, role: (typeof SECRET_ROLES)[number]) =>
  createHmac('sha256', spec.internalPassword).update(`attache-redis:${role}`).digest('hex');
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** A config-file argument as redis-server's parser (sdssplitargs) reads it back. */
function quote(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.charCodeAt(0);
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets.filter((s) => s.length > 0)) {
    out = out.split(secret).join('[redacted]');
    out = out.split(quote(secret)).join('[redacted]');
  }
  return out;
}

function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) fields.set(line.slice(0, at), line.slice(at + 1));
  }
  return fields;
}

/** `a=1,b=2` (INFO keyspace and slaveN lines). */
function parsePairs(value: string | undefined): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const part of (value ?? '').split(',')) {
    const at = part.indexOf('=');
    if (at > 0) pairs.set(part.slice(0, at), part.slice(at + 1));
  }
  return pairs;
}

const num = (value: string | undefined): number => {
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : 0;
};

function validate(spec: DestroySpec): void {
  // The key names a directory and the sentinel's master; keep it to characters safe in both.
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(spec.key)) throw new Error(`Invalid Redis instance key ${JSON.stringify(spec.key)}`);
  const ports = [...spec.nodePorts, ...(spec.sentinelPort === null ? [] : [spec.sentinelPort])];
  if (spec.nodePorts.length === 0) throw new Error(`Redis instance ${spec.key} has no nodes`);
  for (const port of ports) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`Redis instance ${spec.key} has an invalid port ${port}`);
  }
  if (new Set(ports).size !== ports.length) throw new Error(`Redis instance ${spec.key} uses a port twice`);
}

function validateFull(spec: RedisInstanceSpec): void {
  validate(spec);
  if (!Number.isInteger(spec.primaryIndex) || spec.primaryIndex < 0 || spec.primaryIndex >= spec.nodePorts.length) {
    throw new Error(`Redis instance ${spec.key} has primaryIndex ${spec.primaryIndex} outside its ${spec.nodePorts.length} nodes`);
  }
}

/** What `configure` (and a spare's claim) sets live on a node. */
const liveSettings = (spec: RedisInstanceSpec): string[] => [
  'maxmemory',
  String(spec.maxmemoryBytes),
  'maxmemory-policy',
  spec.maxmemoryPolicy,
  'maxclients',
  String(spec.maxclients + INTERNAL_CLIENTS),
  'timeout',
  String(spec.timeoutSeconds),
  'appendonly',
  spec.persistence ? 'yes' : 'no',
  'appendfsync',
  'everysec',
];

/** No tenant yet: a node whose spec has no password gets no `app` user. */
const NO_TENANT = '';

/** A spare as a one-node instance without a tenant, for the code that starts and adopts nodes. */
const asInstance = (spare: RedisSpareSpec): RedisInstanceSpec => ({
  key: spare.key,
  host: spare.host,
  nodePorts: [spare.port],
  primaryIndex: 0,
  sentinelPort: null,
  password: NO_TENANT,
  internalPassword: spare.internalPassword,
  maxmemoryBytes: spare.maxmemoryBytes,
  maxclients: spare.maxclients,
  persistence: false,
  maxmemoryPolicy: 'noeviction',
  timeoutSeconds: 0,
});

/** A sentinel runs only for a primary with a standby. */
const hasSentinel = (spec: Pick<RedisInstanceSpec, 'sentinelPort' | 'nodePorts'>): spec is { sentinelPort: number; nodePorts: number[] } =>
  spec.sentinelPort !== null && spec.nodePorts.length >= 2;

/**
 * Runs each Redis instance as redis-server processes on this machine: one directory per
 * instance, one per node and sentinel inside it. Processes daemonize, so they outlive Attache;
 * `ensure` adopts them by pidfile and PING.
 */
@Injectable()
export class LocalRedisDriver extends RedisDriver {
  private readonly logger = new Logger(LocalRedisDriver.name);

  async ensure(spec: RedisInstanceSpec): Promise<void> {
    validateFull(spec);
    await this.withLock(spec, async () => {
      await this.removeUnwanted(spec);

      const sentinelWanted = hasSentinel(spec);
      const sentinelUp = sentinelWanted && (await this.adopt(this.sentinelPaths(spec, spec.sentinelPort).pidfile, spec.sentinelPort, this.sentinelAuth(spec)));
      const up = await Promise.all(spec.nodePorts.map((port) => this.adopt(this.nodePaths(spec, port).pidfile, port, this.admin(spec))));

      const primaryPort = spec.nodePorts[spec.primaryIndex];
      const roles = await Promise.all(spec.nodePorts.map((port, index) => (up[index] ? this.role(port, spec) : null)));
      /** Started nodes, each with the port it replicates (null for a primary). */
      const started: [number, number | null][] = [];
      if (!up[spec.primaryIndex]) {
        // A running sentinel with a live standby promotes it; a primary restarted in place now would
        // come back as a second master. Without either, nobody else can bring the instance back.
        const standbyUp = up.some((isUp, index) => isUp && index !== spec.primaryIndex);
        const actingPrimary = roles.findIndex((role) => role === 'master');
        if (sentinelUp && standbyUp) {
          this.logger.warn(`Redis ${spec.key}: primary on port ${primaryPort} is down; leaving it to the sentinel's failover`);
        } else if (actingPrimary >= 0) {
          // The standby was promoted (the sentinel died after failing over): follow it, not fork off.
          started.push([primaryPort, spec.nodePorts[actingPrimary]]);
        } else {
          started.push([primaryPort, null]);
        }
      } else if (!sentinelWanted && roles[spec.primaryIndex] === 'slave') {
        // Without a sentinel, the spec's primary is the primary; e.g. premium → mini kept the standby.
        await this.withClient(primaryPort, this.admin(spec), (client) => client.multi().call('REPLICAOF', 'NO', 'ONE').call('CONFIG', 'REWRITE').exec());
        this.logger.log(`Redis ${spec.key}: promoted node on port ${primaryPort}, which still replicated`);
      }
      for (const [index, port] of spec.nodePorts.entries()) {
        if (index !== spec.primaryIndex && !up[index]) started.push([port, primaryPort]);
      }
      for (const [port, replicaOf] of started) await this.startNode(spec, port, replicaOf);
      await Promise.all(started.map(([port]) => this.waitForPing(port, this.admin(spec), this.nodePaths(spec, port).log, spec)));
      await Promise.all(
        started
          .filter((entry): entry is [number, number] => entry[1] !== null)
          .map(async ([port, replicaOf]) => {
            if (await this.answers(replicaOf, spec)) await this.waitForLink(spec, port, replicaOf);
          }),
      );

      if (sentinelWanted && !sentinelUp) await this.startSentinel(spec, spec.sentinelPort);
    });
  }

  async ensureSpare(spare: RedisSpareSpec): Promise<void> {
    const spec = asInstance(spare);
    validateFull(spec);
    await this.withLock(spec, async () => {
      if (await this.adopt(this.nodePaths(spec, spare.port).pidfile, spare.port, this.admin(spec))) return;
      await this.startNode(spec, spare.port, null);
      await this.waitForPing(spare.port, this.admin(spec), this.nodePaths(spec, spare.port).log, spec);
    });
  }

  async isSpareHealthy(spare: RedisSpareSpec): Promise<boolean> {
    const spec = asInstance(spare);
    validateFull(spec);
    return this.isRunning(this.nodePaths(spec, spare.port).pidfile, spare.port);
  }

  /**
   * On the provision's path, so no lock file: the spare is the claiming add-on's alone (the claim
   * committed; the pool's upkeep touches only unclaimed spares), and every step sets a value, so
   * running them twice, or after a crash midway, ends the same. The node's ACL and config files
   * are written as a fresh node of the spec has them, the limits set live and the ACL file loaded
   * with ACL LOAD, so the users are exactly a fresh node's (ACL SETUSER would differ in flags).
   * One round trip. Not CONFIG REWRITE: it fsyncs, 1–20 ms on a busy host, and the file written
   * here already says the same.
   */
  async claimSpare(spec: RedisInstanceSpec): Promise<void> {
    validateFull(spec);
    if (spec.nodePorts.length !== 1 || spec.sentinelPort !== null || spec.persistence) throw new Error(`Redis ${spec.key}: only a mini can take a spare`);
    const port = spec.nodePorts[0];
    const paths = this.nodePaths(spec, port);
    let replies: [Error | null, unknown][] | null;
    try {
      // Small files, written synchronously: on a busy host every hop through libuv's thread pool costs
      // a wait for a core, more than the writes themselves. The files exist (the spare runs on them),
      // so their mode is already private.
      if (existsSync(this.tombstone(spec))) throw new Error(`Redis instance ${spec.key} was destroyed.`);
      writeFileSync(paths.acl, this.aclFile(spec), { mode: 0o600 });
      writeFileSync(paths.conf, this.nodeConf(spec, port, paths, null), { mode: 0o600 });
      const { username, password } = this.admin(spec);
      // AUTH in the pipeline rather than on connect: one round trip to the node, not two.
      replies = await this.withClient(port, null, (client) =>
        client
          .pipeline()
          .call('AUTH', username!, password)
          .call('CONFIG', 'SET', ...liveSettings(spec))
          // Last: Redis 7.0 answers it, then closes every connection of the users it reloaded, this one too.
          .call('ACL', 'LOAD')
          .exec(),
      );
    } catch (error) {
      if (existsSync(this.tombstone(spec))) throw error;
      // A spare that died (the host rebooted, say) is started as the instance, files and all.
      if (!(await this.isRunning(this.nodePaths(spec, port).pidfile, port))) return this.ensure(spec);
      throw new Error(`Redis ${spec.key}: spare on port ${port} did not take its tenant: ${scrub(message(error), this.secrets(spec))}`);
    }
    const failed = (replies ?? []).find(([error]) => error !== null);
    if (failed) throw new Error(`Redis ${spec.key}: spare on port ${port} refused its setup: ${scrub(message(failed[0]), this.secrets(spec))}`);
  }

  async configure(spec: RedisInstanceSpec): Promise<void> {
    validateFull(spec);
    await this.withLock(spec, async () => {
      for (const port of spec.nodePorts) {
        if (!(await this.isRunning(this.nodePaths(spec, port).pidfile, port))) continue;
        await this.withClient(port, this.admin(spec), async (client) => {
          await client.call('CONFIG', 'SET', ...liveSettings(spec));
          // So that a restart of this process by hand keeps the values (ensure rewrites the file anyway).
          await client.call('CONFIG', 'REWRITE');
        });
      }
    });
  }

  async addPassword(spec: RedisInstanceSpec, password: string): Promise<void> {
    await this.changeAppPasswords(spec, ['ACL', 'SETUSER', 'app', `#${sha256(password)}`], false);
  }

  async retireOtherPasswords(spec: RedisInstanceSpec, password: string): Promise<void> {
    await this.changeAppPasswords(spec, ['ACL', 'SETUSER', 'app', 'resetpass', `#${sha256(password)}`], true);
  }

  /**
   * Runs the ACL change on every running node and saves it to the ACL file. The hash, not the
   * password, goes over the wire, so MONITOR, the slowlog and error messages can never show it.
   */
  private async changeAppPasswords(spec: RedisInstanceSpec, command: string[], killClients: boolean): Promise<void> {
    validateFull(spec);
    await this.withLock(spec, async () => {
      for (const port of spec.nodePorts) {
        if (!(await this.isRunning(this.nodePaths(spec, port).pidfile, port))) continue;
        await this.withClient(port, this.admin(spec), async (client) => {
          await client.call(command[0], ...command.slice(1));
          await client.call('ACL', 'SAVE');
          // Changing passwords leaves authenticated connections open.
          if (killClients) await client.call('CLIENT', 'KILL', 'USER', 'app');
        });
      }
    });
  }

  async isHealthy(spec: RedisInstanceSpec): Promise<boolean> {
    validateFull(spec);
    const processes = [
      ...spec.nodePorts.map((port) => [this.nodePaths(spec, port).pidfile, port] as const),
      ...(hasSentinel(spec) ? [[this.sentinelPaths(spec, spec.sentinelPort).pidfile, spec.sentinelPort] as const] : []),
    ];
    for (const [pidfile, port] of processes) if (!(await this.isRunning(pidfile, port))) return false;
    return !hasSentinel(spec) || (await this.currentPrimary(spec)) === spec.primaryIndex;
  }

  async currentPrimary(spec: RedisInstanceSpec): Promise<number | null> {
    validateFull(spec);
    if (!hasSentinel(spec)) return null;
    const port = await this.sentinelPrimaryPort(spec, spec.sentinelPort).catch(() => null);
    if (port === null) return null;
    const index = spec.nodePorts.indexOf(port);
    return index < 0 ? null : index;
  }

  async failover(spec: RedisInstanceSpec): Promise<number> {
    validateFull(spec);
    if (!hasSentinel(spec)) throw new Error(`Redis ${spec.key} has no sentinel to fail over with`);
    const sentinelPort = spec.sentinelPort;
    return this.withLock(spec, async () => {
      const deadline = Date.now() + FAILOVER_WAIT_MS;
      const before = (await this.currentPrimary(spec)) ?? spec.primaryIndex;
      const target = spec.nodePorts.findIndex((_port, index) => index !== before);
      const [oldPort, newPort] = [spec.nodePorts[before], spec.nodePorts[target]];

      // The sentinel promotes with REPLICAOF NO ONE, without waiting for the standby to catch up,
      // and the old primary keeps accepting writes until it is demoted: those writes are lost (in
      // a test, 13k of 20k acknowledged in one second). Writes on the old primary wait instead,
      // and fail with READONLY once it has been demoted. A dead primary cannot be paused.
      const paused = await this.withClient(oldPort, this.admin(spec), (client) => client.call('CLIENT', 'PAUSE', String(FAILOVER_WAIT_MS + 5_000), 'WRITE')).then(
        () => true,
        () => false,
      );
      try {
        if (paused) await this.waitForCatchUp(spec, oldPort, newPort, Math.min(deadline, Date.now() + CATCH_UP_WAIT_MS));
        await this.askSentinelToFailOver(spec, sentinelPort, deadline);
        while (Date.now() < deadline) {
          const port = await this.sentinelPrimaryPort(spec, sentinelPort).catch(() => null);
          if (port === newPort && (await this.role(newPort, spec)) === 'master') {
            await this.demote(spec, oldPort, newPort);
            return target;
          }
          await sleep(POLL_MS);
        }
        throw new Error(`Redis ${spec.key}: failover to port ${newPort} did not finish within ${FAILOVER_WAIT_MS} ms`);
      } finally {
        if (paused) await this.withClient(oldPort, this.admin(spec), (client) => client.call('CLIENT', 'UNPAUSE')).catch(() => undefined);
      }
    });
  }

  private async askSentinelToFailOver(spec: RedisInstanceSpec, sentinelPort: number, deadline: number): Promise<void> {
    for (;;) {
      try {
        await this.withClient(sentinelPort, this.sentinelAuth(spec), (client) => client.call('SENTINEL', 'FAILOVER', spec.key));
        return;
      } catch (error) {
        const reply = message(error);
        // INPROG: one is running already; wait for it. NOGOODSLAVE: the sentinel has not seen the
        // standby in sync recently (just started, or its link was down); it may shortly.
        if (/^INPROG/.test(reply)) return;
        if (!/^NOGOODSLAVE/.test(reply) || Date.now() > deadline) {
          throw new Error(`Redis ${spec.key}: sentinel refused the failover: ${scrub(reply, this.secrets(spec))}`);
        }
        await sleep(250);
      }
    }
  }

  /** With writes paused, until the standby has everything the primary has. */
  private async waitForCatchUp(spec: RedisInstanceSpec, primaryPort: number, standbyPort: number, until: number): Promise<void> {
    const offset = async (port: number, field: string) =>
      this.withClient(port, this.admin(spec), async (client) => parseInfo(await client.info('replication')).get(field)).catch(() => undefined);
    while (Date.now() < until) {
      const [primary, standby] = await Promise.all([offset(primaryPort, 'master_repl_offset'), offset(standbyPort, 'slave_repl_offset')]);
      if (primary !== undefined && primary === standby) return;
      await sleep(20);
    }
    this.logger.warn(`Redis ${spec.key}: standby on port ${standbyPort} had not caught up when the failover began`);
  }

  async info(spec: RedisInstanceSpec): Promise<RedisInfo> {
    validateFull(spec);
    const primaryPort = spec.nodePorts[spec.primaryIndex];
    const { fields, maxclients } = await this.withClient(primaryPort, this.admin(spec), async (client) => {
      const text = await client.info();
      const config = (await client.call('CONFIG', 'GET', 'maxclients')) as string[];
      return { fields: parseInfo(text), maxclients: num(config[1]) };
    });

    let lagBytes: number | null = null;
    let linkUp: boolean | null = null;
    const standbyPort = spec.nodePorts.find((_port, index) => index !== spec.primaryIndex);
    if (standbyPort !== undefined) {
      const standby = await this.withClient(standbyPort, this.admin(spec), async (client) => parseInfo(await client.info('replication'))).catch(
        () => null,
      );
      linkUp = standby?.get('master_link_status') === 'up';
      const masterOffset = num(fields.get('master_repl_offset'));
      const fromMaster = [...fields.entries()]
        .filter(([name]) => /^slave\d+$/.test(name))
        .map(([, value]) => parsePairs(value))
        .find((pairs) => num(pairs.get('port')) === standbyPort);
      const standbyOffset = standby?.has('slave_repl_offset') ? num(standby.get('slave_repl_offset')) : fromMaster ? num(fromMaster.get('offset')) : null;
      lagBytes = linkUp && standbyOffset !== null ? Math.max(0, masterOffset - standbyOffset) : null;
    }

    return {
      role: fields.get('role') === 'master' ? 'master' : 'replica',
      usedMemoryBytes: num(fields.get('used_memory')),
      maxmemoryBytes: num(fields.get('maxmemory')),
      connectedClients: num(fields.get('connected_clients')),
      maxclients: maxclients - INTERNAL_CLIENTS,
      opsPerSecond: num(fields.get('instantaneous_ops_per_sec')),
      keys: num(parsePairs(fields.get('db0')).get('keys')),
      persistence: { aofEnabled: fields.get('aof_enabled') === '1', lastWriteStatus: fields.get('aof_last_write_status') ?? null },
      replication: { replicas: num(fields.get('connected_slaves')), lagBytes, linkUp },
      version: fields.get('redis_version') ?? '',
    };
  }

  async destroy(spec: DestroySpec): Promise<void> {
    validate(spec);
    const instanceDir = this.instanceDir(spec);
    await this.withLock(spec, async () => {
      const entries = await this.instanceEntries(spec);
      const sentinels = new Set(entries.sentinels);
      if (spec.sentinelPort !== null) sentinels.add(spec.sentinelPort);
      const nodes = new Set([...entries.nodes, ...spec.nodePorts]);
      // The sentinel first, so it does not fail over while the nodes stop.
      const stopped = await Promise.all([...sentinels].map(async (port) => ((await this.stop(this.sentinelPaths(spec, port).pidfile, port)) ? port : null)));
      stopped.push(...(await Promise.all([...nodes].map(async (port) => ((await this.stop(this.nodePaths(spec, port).pidfile, port)) ? port : null)))));
      // Only ports this call freed: on a repeated destroy, another instance may own them by now.
      await this.waitForPortsFree(stopped.filter((port): port is number => port !== null));
      // Before the files go: a caller that read the instance before it was destroyed must not start it again.
      await this.makeDir(this.tombstoneDir(spec));
      await writeFile(this.tombstone(spec), '', { mode: 0o600 });
      await rm(instanceDir, { recursive: true, force: true });
      await this.pruneTombstones(spec);
    }, { allowDestroyed: true });
    this.logger.log(`Redis ${spec.key}: destroyed`);
  }

  isPortFree(_host: RedisInstanceSpec['host'], port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen({ host: LOOPBACK, port, exclusive: true }, () => server.close(() => resolve(true)));
    });
  }

  // --- layout ---------------------------------------------------------------------------------

  private instanceDir(spec: Pick<RedisInstanceSpec, 'key' | 'host'>): string {
    return join(spec.host.dataDir, spec.key);
  }

  private nodePaths(spec: Pick<RedisInstanceSpec, 'key' | 'host'>, port: number): NodePaths {
    const dir = join(this.instanceDir(spec), `node-${port}`);
    return { dir, conf: join(dir, 'redis.conf'), acl: join(dir, 'users.acl'), pidfile: join(dir, 'redis.pid'), log: join(dir, 'redis.log') };
  }

  private sentinelPaths(spec: Pick<RedisInstanceSpec, 'key' | 'host'>, port: number): SentinelPaths {
    const dir = join(this.instanceDir(spec), `sentinel-${port}`);
    return { dir, conf: join(dir, 'sentinel.conf'), pidfile: join(dir, 'sentinel.pid'), log: join(dir, 'sentinel.log') };
  }

  /** Node and sentinel ports that have a directory in the instance. */
  private async instanceEntries(spec: DestroySpec): Promise<{ nodes: number[]; sentinels: number[] }> {
    const names = await readdir(this.instanceDir(spec)).catch(() => [] as string[]);
    const portOf = (prefix: string) =>
      names.filter((name) => new RegExp(`^${prefix}-\\d+$`).test(name)).map((name) => Number(name.slice(prefix.length + 1)));
    return { nodes: portOf('node'), sentinels: portOf('sentinel') };
  }

  /** Stops and removes the sentinel and nodes the spec no longer has (premium → mini). */
  private async removeUnwanted(spec: RedisInstanceSpec): Promise<void> {
    const entries = await this.instanceEntries(spec);
    const sentinels = entries.sentinels.filter((port) => !hasSentinel(spec) || port !== spec.sentinelPort);
    const nodes = entries.nodes.filter((port) => !spec.nodePorts.includes(port));
    for (const port of sentinels) {
      const paths = this.sentinelPaths(spec, port);
      await this.stop(paths.pidfile, port);
      await rm(paths.dir, { recursive: true, force: true });
      this.logger.log(`Redis ${spec.key}: removed sentinel on port ${port}`);
    }
    for (const port of nodes) {
      const paths = this.nodePaths(spec, port);
      await this.stop(paths.pidfile, port);
      await rm(paths.dir, { recursive: true, force: true });
      this.logger.log(`Redis ${spec.key}: removed node on port ${port}`);
    }
  }

  // --- files ----------------------------------------------------------------------------------

  private aclFile(spec: RedisInstanceSpec): string {
    return [
      'user default off',
      ...(spec.password === NO_TENANT ? [] : [`user app on #${sha256(spec.password)} ${APP_RULES}`]),
      `user admin on #${sha256(secretFor(spec, 'admin'))} ${ADMIN_RULES}`,
      `user replication on #${sha256(secretFor(spec, 'replication'))} ${REPLICATION_RULES}`,
      `user sentinel on #${sha256(secretFor(spec, 'sentinel'))} ${SENTINEL_RULES}`,
      '',
    ].join('\n');
  }

  private nodeConf(spec: RedisInstanceSpec, port: number, paths: NodePaths, replicaOf: number | null): string {
    return [
      "# Written by Attache's LocalRedisDriver at every start; CONFIG REWRITE (Attache, sentinel) updates it in between.",
      `bind ${LOOPBACK}`,
      `port ${port}`,
      'daemonize yes',
      `pidfile ${quote(paths.pidfile)}`,
      `logfile ${quote(paths.log)}`,
      `dir ${quote(paths.dir)}`,
      'save ""',
      `appendonly ${spec.persistence ? 'yes' : 'no'}`,
      'appendfsync everysec',
      // A full sync otherwise waits 5 s for more replicas to share it; there is only ever one.
      'repl-diskless-sync-delay 0',
      `maxmemory ${spec.maxmemoryBytes}`,
      `maxmemory-policy ${spec.maxmemoryPolicy}`,
      `maxclients ${spec.maxclients + INTERNAL_CLIENTS}`,
      `timeout ${spec.timeoutSeconds}`,
      `aclfile ${quote(paths.acl)}`,
      // Primaries too: after a failover the sentinel turns them into replicas.
      'masteruser replication',
      `masterauth ${quote(secretFor(spec, 'replication'))}`,
      ...(replicaOf === null ? [] : [`replicaof ${LOOPBACK} ${replicaOf}`]),
      '',
    ].join('\n');
  }

  private sentinelConf(spec: RedisInstanceSpec, port: number, paths: SentinelPaths): string {
    const primaryPort = spec.nodePorts[spec.primaryIndex];
    const { key } = spec;
    return [
      `port ${port}`,
      `bind ${LOOPBACK}`,
      'daemonize yes',
      `pidfile ${quote(paths.pidfile)}`,
      `logfile ${quote(paths.log)}`,
      `dir ${quote(paths.dir)}`,
      // Clients of the sentinel itself (Attache) authenticate with the internal password.
      `user default on #${sha256(secretFor(spec, 'sentinel-admin'))} ~* &* +@all`,
      `sentinel monitor ${key} ${LOOPBACK} ${primaryPort} 1`,
      `sentinel auth-user ${key} sentinel`,
      `sentinel auth-pass ${key} ${quote(secretFor(spec, 'sentinel'))}`,
      `sentinel down-after-milliseconds ${key} ${SENTINEL_DOWN_AFTER_MS}`,
      `sentinel failover-timeout ${key} ${SENTINEL_FAILOVER_TIMEOUT_MS}`,
      `sentinel parallel-syncs ${key} 1`,
      // Otherwise the sentinel learns of the standby only from the primary's INFO, which it polls every 10 s.
      ...spec.nodePorts.filter((p) => p !== primaryPort).map((p) => `sentinel known-replica ${key} ${LOOPBACK} ${p}`),
      '',
    ].join('\n');
  }

  private async writePrivate(path: string, content: string): Promise<void> {
    await writeFile(path, content, { mode: 0o600 });
    await chmod(path, 0o600);
  }

  private async makeDir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  }

  // --- processes ------------------------------------------------------------------------------

  private async startNode(spec: RedisInstanceSpec, port: number, replicaOf: number | null): Promise<void> {
    const paths = this.nodePaths(spec, port);
    await this.makeDir(paths.dir);
    await this.writePrivate(paths.acl, this.aclFile(spec));
    await this.writePrivate(paths.conf, this.nodeConf(spec, port, paths, replicaOf));
    await unlink(paths.pidfile).catch(() => undefined);
    await this.launch([paths.conf], spec);
    this.logger.log(`Redis ${spec.key}: started node on port ${port}${replicaOf === null ? '' : ` as replica of ${replicaOf}`}`);
  }

  private async startSentinel(spec: RedisInstanceSpec, port: number): Promise<void> {
    const paths = this.sentinelPaths(spec, port);
    await this.makeDir(paths.dir);
    // The sentinel rewrites its file with what it learns (current primary, epochs, replicas);
    // written once, so a restarted sentinel keeps that knowledge.
    const exists = await stat(paths.conf).then(
      () => true,
      () => false,
    );
    if (!exists) await this.writePrivate(paths.conf, this.sentinelConf(spec, port, paths));
    await unlink(paths.pidfile).catch(() => undefined);
    await this.launch([paths.conf, '--sentinel'], spec);
    await this.waitForPing(port, this.sentinelAuth(spec), paths.log, spec);
    this.logger.log(`Redis ${spec.key}: started sentinel on port ${port}`);
  }

  /** redis-server daemonizes, so this returns once the configuration has been read. */
  private async launch(args: string[], spec: RedisInstanceSpec): Promise<void> {
    try {
      await execFileAsync('redis-server', args, { timeout: START_WAIT_MS });
    } catch (error) {
      // A config error prints the offending line, which may be the masterauth one.
      const output = error as { stderr?: string; stdout?: string };
      const detail = `${output.stderr ?? ''}${output.stdout ?? ''}`.trim() || message(error);
      throw new Error(`redis-server failed to start for ${spec.key}: ${scrub(detail, this.secrets(spec))}`);
    }
  }

  /** The pid in `pidfile` if that process is alive (not a zombie) and is the redis-server on `port`. */
  private async livePid(pidfile: string, port: number): Promise<number | null> {
    const text = await readFile(pidfile, 'utf8').catch(() => '');
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 1) return null;
    return (await this.isOurProcess(pid, port)) ? pid : null;
  }

  private async isOurProcess(pid: number, port: number): Promise<boolean> {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // Daemonized processes are reparented to pid 1, which (in containers) may never reap them.
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ');
      // Redis sets its title to "redis-server 127.0.0.1:<port>"; right after exec it is still the argv.
      return cmdline.includes('redis-server') && new RegExp(`(:${port}(?!\\d))|((node|sentinel)-${port}/)`).test(cmdline);
    } catch {
      return false;
    }
  }

  private async isRunning(pidfile: string, port: number): Promise<boolean> {
    return (await this.livePid(pidfile, port)) !== null;
  }

  /**
   * True if the process named by the pidfile runs. One that runs but does not answer in time is
   * left alone: a tenant's slow script, or a full client table, must not get its node (and, on
   * mini, its data) killed.
   */
  private async adopt(pidfile: string, port: number, auth: Auth): Promise<boolean> {
    if (!(await this.isRunning(pidfile, port))) return this.adoptByCredentials(pidfile, port, auth);
    try {
      await this.withClient(port, auth, (client) => client.ping());
    } catch (error) {
      if (!(await this.isRunning(pidfile, port))) return false;
      this.logger.warn(`Redis process on port ${port} runs but does not answer (${message(error)}); leaving it be`);
    }
    return true;
  }

  /**
   * Its pidfile is gone (files removed by hand, a crash while writing it) but the process may run:
   * one that accepts this instance's own credentials on the port is ours, so its pidfile is
   * written again instead of a duplicate being started beside it.
   */
  private async adoptByCredentials(pidfile: string, port: number, auth: Auth): Promise<boolean> {
    const pid = await this.withClient(port, auth, async (client) => /^process_id:(\d+)/m.exec(await client.info('server'))?.[1]).catch(() => undefined);
    if (!pid) return false;
    await this.makeDir(dirname(pidfile));
    await writeFile(pidfile, `${pid}\n`, { mode: 0o600 });
    this.logger.warn(`Redis process ${pid} on port ${port} had no pidfile; adopted it`);
    return true;
  }

  private async waitForPing(port: number, auth: Auth, log: string, spec: RedisInstanceSpec): Promise<void> {
    const deadline = Date.now() + START_WAIT_MS;
    let lastError = '';
    // redis-server's parent exits before the daemon listens: the first tries come a few ms apart.
    for (let wait = 2; Date.now() < deadline; wait = Math.min(wait * 2, POLL_MS)) {
      try {
        await this.withClient(port, auth, (client) => client.ping());
        return;
      } catch (error) {
        lastError = message(error);
        await sleep(wait);
      }
    }
    const tail = (await readFile(log, 'utf8').catch(() => '')).split('\n').slice(-6).join('\n');
    throw new Error(`Redis ${spec.key}: port ${port} did not answer PING within ${START_WAIT_MS} ms (${lastError}); log:\n${scrub(tail, this.secrets(spec))}`);
  }

  /**
   * Best effort, until the primary streams to the replica. `master_link_status:up` is not enough:
   * after a diskless full sync the primary holds the stream back until the replica's first
   * REPLCONF ACK, which it sends once a second. A primary killed in that window took every write
   * it acknowledged with it (seen in a test: 12k writes over 0.7 s). WAIT returns only once the
   * replica acknowledged a write made after the sync, so it proves the stream flows.
   */
  private async waitForLink(spec: RedisInstanceSpec, replicaPort: number, primaryPort: number): Promise<void> {
    const deadline = Date.now() + LINK_WAIT_MS;
    const linkUp = async () =>
      (await this.withClient(replicaPort, this.admin(spec), async (client) => parseInfo(await client.info('replication')).get('master_link_status'))) ===
      'up';
    while (!(await linkUp().catch(() => false))) {
      if (Date.now() > deadline) {
        this.logger.warn(`Redis ${spec.key}: replica on port ${replicaPort} has no link to its primary after ${LINK_WAIT_MS} ms`);
        return;
      }
      await sleep(POLL_MS);
    }
    const acknowledged = await this.withClient(primaryPort, this.admin(spec), async (client) => {
      // A write that reaches replicas without touching the keyspace.
      await client.publish('__attache__:replication-check', '1');
      // Under the client's command timeout; the replica acknowledges at least once a second.
      return Number(await client.call('WAIT', '1', String(Math.min(3_000, Math.max(1, deadline - Date.now())))));
    }).catch(() => 0);
    if (acknowledged < 1) this.logger.warn(`Redis ${spec.key}: replica on port ${replicaPort} did not acknowledge the stream within ${LINK_WAIT_MS} ms`);
  }

  /** SIGTERM (Redis flushes its AOF and exits), SIGKILL if it lingers; returns once the pid is gone. */
  private async stop(pidfile: string, port: number): Promise<boolean> {
    const pid = await this.livePid(pidfile, port);
    if (pid === null) return false;
    const exited = async (ms: number) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if (!(await this.isOurProcess(pid, port))) return true;
        await sleep(50);
      }
      return false;
    };
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(pid, name);
      } catch {
        // Gone already.
      }
    };
    signal('SIGTERM');
    if (await exited(STOP_WAIT_MS)) return true;
    signal('SIGKILL');
    if (!(await exited(STOP_WAIT_MS))) throw new Error(`Redis process ${pid} on port ${port} did not exit`);
    return true;
  }

  private async waitForPortsFree(ports: number[]): Promise<void> {
    const deadline = Date.now() + STOP_WAIT_MS;
    for (const port of ports) {
      while (!(await this.isPortFree({ id: '', name: '', address: LOOPBACK, dataDir: '' }, port))) {
        if (Date.now() > deadline) throw new Error(`Port ${port} is still in use after its Redis process stopped`);
        await sleep(POLL_MS);
      }
    }
  }

  // --- clients --------------------------------------------------------------------------------

  private admin(spec: Pick<RedisInstanceSpec, 'internalPassword'>): Auth {
    return { username: 'admin', password: secretFor(spec, 'admin') };
  }

  private sentinelAuth(spec: Pick<RedisInstanceSpec, 'internalPassword'>): Auth {
    return { password: secretFor(spec, 'sentinel-admin') };
  }

  private secrets(spec: RedisInstanceSpec): string[] {
    return [spec.password, spec.internalPassword, ...SECRET_ROLES.map((role) => secretFor(spec, role))];
  }

  /** A connection of its own; `auth` null when `fn` authenticates itself. */
  private async withClient<T>(port: number, auth: Auth | null, fn: (client: Redis) => Promise<T>): Promise<T> {
    const client = new Redis({
      host: LOOPBACK,
      port,
      username: auth?.username,
      password: auth?.password,
      lazyConnect: true,
      enableReadyCheck: false,
      maxRetriesPerRequest: 1,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: CONNECT_TIMEOUT_MS * 2,
      retryStrategy: () => null,
      disableClientInfo: true,
    });
    // Errors reach the caller through the command's promise; this only silences the event.
    client.on('error', () => undefined);
    try {
      await client.connect();
      return await fn(client);
    } finally {
      // On a stream that is already closed, disconnect() would leave a 2 s timer behind.
      if (client.status !== 'end') client.disconnect();
    }
  }

  private async sentinelPrimaryPort(spec: RedisInstanceSpec, sentinelPort: number): Promise<number | null> {
    const reply = (await this.withClient(sentinelPort, this.sentinelAuth(spec), (client) =>
      client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', spec.key),
    )) as [string, string] | null;
    return reply ? Number(reply[1]) : null;
  }

  /**
   * The sentinel promotes with REPLICAOF NO ONE and only demotes the old primary once it has
   * reported itself master for 8 s more, plus up to 10 s until its next INFO: that long both
   * accept writes, and the old one's are lost. Do what the sentinel will do (its MULTI block),
   * now: writes there fail with READONLY instead.
   */
  private async demote(spec: RedisInstanceSpec, oldPort: number, newPort: number): Promise<void> {
    await this.withClient(oldPort, this.admin(spec), async (client) => {
      const [role] = (await client.call('ROLE')) as [string, ...unknown[]];
      if (role !== 'master') return;
      await client.multi().call('REPLICAOF', LOOPBACK, String(newPort)).call('CONFIG', 'REWRITE').call('CLIENT', 'KILL', 'TYPE', 'normal').exec();
    }).catch((error: unknown) => this.logger.warn(`Redis ${spec.key}: could not demote the old primary on port ${oldPort}: ${message(error)}`));
  }

  private async answers(port: number, spec: RedisInstanceSpec): Promise<boolean> {
    return this.withClient(port, this.admin(spec), (client) => client.ping()).then(
      () => true,
      () => false,
    );
  }

  private async role(port: number, spec: RedisInstanceSpec): Promise<string | null> {
    return this.withClient(port, this.admin(spec), async (client) => ((await client.call('ROLE')) as [string, ...unknown[]])[0]).catch(() => null);
  }

  // --- locking --------------------------------------------------------------------------------

  /**
   * Serialises ensure/configure/password changes/destroy of one instance across processes: flock(2) on
   * `<instance>/.lock`. The kernel drops the lock when its holder dies, so there is nothing stale
   * to detect. `flock` (util-linux) takes it on a descriptor we share with it, and it stays held
   * until we close ours. destroy deletes the file; a waiter that then locked the deleted inode
   * notices and starts over.
   */
  private async withLock<T>(spec: Pick<RedisInstanceSpec, 'key' | 'host'>, fn: () => Promise<T>, options: { allowDestroyed?: boolean } = {}): Promise<T> {
    const dir = this.instanceDir(spec);
    const path = join(dir, '.lock');
    for (;;) {
      if (!options.allowDestroyed) await this.refuseDestroyed(spec);
      await this.makeDir(dir);
      const handle = await open(path, 'a', 0o600);
      try {
        await this.flock(handle, path);
        const [held, current] = await Promise.all([handle.stat(), stat(path).catch(() => null)]);
        if (current !== null && current.ino === held.ino && current.dev === held.dev) {
          if (!options.allowDestroyed) await this.refuseDestroyed(spec, dir);
          return await fn();
        }
      } finally {
        await handle.close();
      }
    }
  }

  private tombstoneDir(spec: Pick<RedisInstanceSpec, 'host'>): string {
    return join(spec.host.dataDir, '.destroyed');
  }

  private tombstone(spec: Pick<RedisInstanceSpec, 'key' | 'host'>): string {
    return join(this.tombstoneDir(spec), spec.key);
  }

  /** A day is far longer than any job that could still hold an instance's old spec. */
  private async pruneTombstones(spec: Pick<RedisInstanceSpec, 'host'>): Promise<void> {
    const dir = this.tombstoneDir(spec);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const info = await stat(join(dir, name)).catch(() => null);
      if (info && Date.now() - info.mtimeMs > 24 * 3600_000) await unlink(join(dir, name)).catch(() => undefined);
    }
  }

  /** Destroyed instances stay destroyed (removing the directory a waiting caller just made). */
  private async refuseDestroyed(spec: Pick<RedisInstanceSpec, 'key' | 'host'>, madeDir?: string): Promise<void> {
    if (!(await stat(this.tombstone(spec)).catch(() => null))) return;
    if (madeDir) await rm(madeDir, { recursive: true, force: true });
    throw new Error(`Redis instance ${spec.key} was destroyed.`);
  }

  private flock(handle: FileHandle, path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn('flock', ['--exclusive', '--wait', String(LOCK_WAIT_SECONDS), '3'], { stdio: ['ignore', 'ignore', 'pipe', handle.fd] });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('error', reject);
      child.once('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`Could not lock ${path} within ${LOCK_WAIT_SECONDS} s (flock exit ${code}) ${stderr.trim()}`)),
      );
    });
  }
}

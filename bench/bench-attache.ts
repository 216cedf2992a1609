/**
 * Attache as the first-party benchmarks run it: the api and worker as real processes on a private
 * database and queue prefix, an account of their own, add-ons created over the API and seen
 * `provisioned` through a trigger, and everything the run made removed again.
 */
import { ChildProcess, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { QUEUES } from '@app/queues';
import { freePort, root, start, stopAll, waitFor } from './bench-processes';

const PG = process.env.ATTACHE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';

export interface BenchAttacheOptions {
  /** ATTACHE_BACKUP_DIR; the bench makes and removes it. */
  backupDir: string;
  /** More environment for the processes and the CLI (a Redis data directory, port block, intervals). */
  env?: NodeJS.ProcessEnv;
}

/** One add-on created over the API: ms to `provisioned` seen and to the 201, and the clocks at the start. */
export interface CreatedAddon {
  id: string;
  total: number;
  post: number;
  /** Date.now() just before the POST, for marks taken from rows and logs. */
  wall0: number;
}

export class BenchAttache {
  readonly env: NodeJS.ProcessEnv;
  readonly base: string;
  /** Every add-on the run created, destroyed again by stop(). */
  readonly addonIds: string[] = [];
  private headers: Record<string, string> | undefined;
  private connection: Client | undefined;
  private workerProcess: ChildProcess | undefined;

  private constructor(
    private readonly database: string,
    port: number,
    workerPort: number,
    options: BenchAttacheOptions,
    private readonly redis: Redis,
    private readonly admin: Client,
  ) {
    this.base = `http://127.0.0.1:${port}`;
    this.env = {
      ...process.env,
      NODE_ENV: 'development',
      DATABASE_URL: `${PG}/${database}${process.env.ATTACHE_BENCH_PG_QUERY ?? ''}`,
      ATTACHE_QUEUE_PREFIX: `attache-bench-${randomBytes(3).toString('hex')}`,
      ATTACHE_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      ATTACHE_BACKUP_DIR: options.backupDir,
      ...options.env,
      PORT: String(port),
      WORKER_PORT: String(workerPort),
      ATTACHE_PUBLIC_URL: this.base,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_HOUR: '100000000',
    };
  }

  /** Names the private database and queue prefix and connects to the servers they live on; nothing runs yet. */
  static async open(options: BenchAttacheOptions): Promise<BenchAttache> {
    const database = `attache_bench_${randomBytes(4).toString('hex')}`;
    const port = await freePort();
    const workerPort = await freePort();
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const admin = new Client({ connectionString: `${PG}/postgres` });
    await admin.connect();
    return new BenchAttache(database, port, workerPort, options, redis, admin);
  }

  /** The private database, open from start() on. */
  get db(): Client {
    if (!this.connection) throw new Error('BenchAttache.start() has not connected to the database yet');
    return this.connection;
  }

  /** The worker's process, from start() on. */
  get worker(): ChildProcess {
    if (!this.workerProcess) throw new Error('BenchAttache.start() has not started the worker yet');
    return this.workerProcess;
  }

  /** `bin/attache.js <args>` on the run's database and queues; its stdout. */
  cli(...args: string[]): string {
    return execFileSync(process.execPath, [join(root, 'bin', 'attache.js'), ...args], { env: this.env, encoding: 'utf8' });
  }

  /** Migrates, seeds the catalog, runs `register` (the bench's clusters or host), makes an account, starts api and worker. */
  async start(register: string[]): Promise<void> {
    this.cli('db:migrate');
    this.cli('catalog:seed');
    this.cli(...register);
    const key = this.cli('accounts:create', `bench-${randomBytes(3).toString('hex')}@example.test`).trim().split('\n').pop()!;
    start('api', this.env);
    this.workerProcess = start('worker', this.env);
    await waitFor(async () => (await fetch(`${this.base}/health`)).ok, 30_000, 'api and worker');
    this.headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', Accept: 'application/vnd.heroku+json; version=3' };

    const db = new Client({ connectionString: this.env.DATABASE_URL });
    // After a failed run the database is dropped under this connection; that is no news.
    db.on('error', () => undefined);
    await db.connect();
    this.connection = db;
  }

  /** A request to the api as the run's account. */
  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    if (!this.headers) throw new Error('BenchAttache.start() has not made the account yet');
    return fetch(`${this.base}${path}`, { ...init, headers: this.headers });
  }

  async createApp(): Promise<string> {
    const app = await this.fetch('/apps', { method: 'POST', body: '{}' });
    if (!app.ok) throw new Error(`app create failed: ${app.status} ${await app.text()}`);
    return ((await app.json()) as { name: string }).name;
  }

  /**
   * Tells of each add-on's commit to `provisioned` without polling the processes measured: a
   * trigger on the private database's `addons` table NOTIFYs at commit, the moment a GET would
   * first see the state. Returns when the add-on was first seen provisioned (performance.now()).
   */
  async listenProvisioned(): Promise<(id: string) => Promise<number>> {
    const seen = new Map<string, number>();
    const waiters = new Map<string, (at: number) => void>();
    await this.db.query(`CREATE FUNCTION bench_provisioned() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.state = 'provisioned' AND OLD.state IS DISTINCT FROM 'provisioned' THEN PERFORM pg_notify('bench_provisioned', NEW.id::text); END IF;
        RETURN NEW;
      END $$`);
    await this.db.query('CREATE TRIGGER bench_provisioned AFTER UPDATE OF state ON addons FOR EACH ROW EXECUTE FUNCTION bench_provisioned()');
    this.db.on('notification', (message) => {
      const at = performance.now();
      const id = message.payload!;
      seen.set(id, at);
      waiters.get(id)?.(at);
    });
    await this.db.query('LISTEN bench_provisioned');
    return (id) => {
      const at = seen.get(id);
      if (at !== undefined) return Promise.resolve(at);
      return new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`add-on ${id} not provisioned after 60 s`)), 60_000);
        waiters.set(id, (when) => {
          clearTimeout(timer);
          waiters.delete(id);
          resolve(when);
        });
      });
    };
  }

  /** POST /apps/{app}/addons, then `provisioned` (when the add-on was first seen provisioned). */
  async createAddon(app: string, plan: string, provisioned: (id: string) => Promise<number>): Promise<CreatedAddon> {
    const wall0 = Date.now();
    const t0 = performance.now();
    const response = await this.fetch(`/apps/${app}/addons`, { method: 'POST', body: JSON.stringify({ plan }) });
    const answered = performance.now();
    const body = (await response.json()) as { id: string };
    if (response.status !== 201) throw new Error(`create failed: ${response.status} ${JSON.stringify(body)}`);
    this.addonIds.push(body.id);
    const done = await provisioned(body.id);
    return { id: body.id, total: done - t0, post: answered - t0, wall0 };
  }

  /**
   * When each provision job was added and became active, from BullMQ's event stream (Redis's
   * clock, whole ms), by job id. Read once the runs are over, so that reading costs them nothing.
   */
  async queueMarks(): Promise<Map<string, { added?: number; active?: number }>> {
    const queued = new Map<string, { added?: number; active?: number }>();
    for (const [streamId, fields] of await this.redis.xrange(`${this.env.ATTACHE_QUEUE_PREFIX}:${QUEUES.provision}:events`, '-', '+')) {
      const field = (name: string) => fields[fields.indexOf(name) + 1];
      const at = Number(streamId.split('-')[0]);
      const entry = queued.get(field('jobId')) ?? {};
      if (field('event') === 'added') entry.added ??= at;
      if (field('event') === 'active') entry.active ??= at;
      queued.set(field('jobId'), entry);
    }
    return queued;
  }

  /**
   * Destroys the run's add-ons as a user would and waits until no row of `backing` (the
   * provider's table) is active, then stops api and worker. What the worker did not get to is the
   * bench's to remove (`otherwise` says how, should the wait fail).
   */
  async stop(backing: 'postgres_databases' | 'redis_instances' | 'kafka_tenants', otherwise: string): Promise<void> {
    if (this.headers && this.connection && this.addonIds.length > 0) {
      const probe = this.connection;
      try {
        for (const id of this.addonIds) await this.fetch(`/addons/${id}`, { method: 'DELETE' }).then((res) => res.arrayBuffer());
        await waitFor(
          async () => Number((await probe.query(`SELECT count(*) AS n FROM ${backing} WHERE state = 'active'`)).rows[0].n) === 0,
          120_000,
          'the add-ons deprovisioned',
        );
      } catch (error) {
        process.stderr.write(`destroying the add-ons: ${(error as Error).message}; ${otherwise}\n`);
      }
    }
    await stopAll();
    await this.connection?.end().catch(() => undefined);
  }

  /** Drops the private database and the run's queues, schedulers and rate-limit counters. */
  async dispose(): Promise<void> {
    await this.admin.query(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`);
    await this.admin.end();
    for await (const keys of this.redis.scanStream({ match: `${this.env.ATTACHE_QUEUE_PREFIX}:*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await this.redis.del(...keys);
    }
    this.redis.disconnect();
  }
}

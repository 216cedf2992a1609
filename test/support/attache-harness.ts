import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createServer } from 'node:net';
import { randomBytes, randomInt } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { AppConfig, ConfigModule, loadConfig, localKafkaCluster, localPostgresClusters } from '@app/config';
import { SecretBox } from '@app/common';
import {
  AccountsService,
  FirstPartyCatalogService,
  KafkaClusterAdmin,
  KafkaClusters,
  ManifestService,
  PostgresBackends,
  PgDedicatedHosts,
  PostgresClusterAdmin,
  RedisDriver,
  RedisHosts,
  RedisSpares,
  Store,
  kafkaConnection,
  redisSpec,
  tenantNames,
} from '@app/domain';
import { ScriptedVendor, VendorManifestOverrides, manifestFor } from '@app/testing';
import { createApiApp } from '../../apps/api/src/create-api-app';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { createTestDatabase } from './test-database';

export const ACCEPT = 'application/vnd.heroku+json; version=3';

/** The password of the vendors the harness starts, unless a test picks its own. */
export const VENDOR_PASSWORD = 'vendor-password-1234';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface HarnessOptions {
  /** Extra environment for Attache's configuration (e.g. PROVIDER_TIMEOUT_MS). */
  env?: Record<string, string>;
  /** Run the worker in this process too (default true). */
  worker?: boolean;
  /** Seed the first-party catalog and register the local shared PostgreSQL clusters. */
  postgres?: boolean;
  /** Seed the first-party catalog and register this machine as a Redis host (a private data directory and port block). */
  redis?: boolean;
  /**
   * Seed the first-party catalog and register the local Kafka broker (scripts/kafka.sh) as the
   * clusters named here (default one, `local-1`); several names are several backends on one broker.
   */
  kafka?: boolean | string[];
}

/**
 * Attache booted as `main.ts` boots it (API over HTTP on a real port, the worker's processors),
 * on a private database cloned from the migrated template and a private queue prefix in Redis.
 */
export class AttacheHarness {
  private worker: INestApplicationContext | null = null;
  private readonly vendors: ScriptedVendor[] = [];

  private constructor(
    readonly config: AppConfig,
    readonly env: Record<string, string>,
    private readonly api: INestApplication,
    private readonly dropDatabase: () => Promise<void>,
    readonly pg: Client,
  ) {}

  static async start(options: HarnessOptions = {}): Promise<AttacheHarness> {
    const database = await createTestDatabase();
    const port = await freePort();
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      DATABASE_URL: database.url,
      DATABASE_POOL_SIZE: '10',
      REDIS_URL: process.env.ATTACHE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
      ATTACHE_QUEUE_PREFIX: `attache-test-${randomBytes(4).toString('hex')}`,
      ATTACHE_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      PORT: String(port),
      ATTACHE_PUBLIC_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: process.env.ATTACHE_TEST_LOG_LEVEL ?? 'silent',
      PROVIDER_TIMEOUT_MS: '2000',
      PROVIDER_BACKOFF_MS: '50',
      PROVIDER_MAX_ATTEMPTS: '3',
      WORKER_CONCURRENCY: '20',
      WORKER_LOCK_MS: '3000',
      RECONCILE_INTERVAL_MS: '1000',
      RECONCILE_STUCK_AFTER_MS: '5000',
      RATE_LIMIT_PER_HOUR: '100000',
      WORKER_PORT: '0',
      ATTACHE_BACKUP_DIR: join(tmpdir(), `attache-test-backups-${randomBytes(4).toString('hex')}`),
      ATTACHE_REDIS_DATA_DIR: join(tmpdir(), `attache-test-redis-${randomBytes(4).toString('hex')}`),
      ATTACHE_REDIS_SUPERVISE_INTERVAL_MS: '300',
      // No spare Redis nodes unless a suite asks for them (ATTACHE_REDIS_SPARES in `env`).
      ATTACHE_REDIS_SPARES: '0',
      ...options.env,
    };
    const config = loadConfig(env);
    const api = await createApiApp(config);
    await api.listen(config.http.port, '127.0.0.1');
    const pg = new Client({ connectionString: database.url });
    await pg.connect();
    const harness = new AttacheHarness(config, env, api, database.drop, pg);
    if (options.postgres) await harness.seedPostgres();
    if (env.ATTACHE_PG_DEDICATED_PORTS) await harness.registerLocalPgHost();
    if (options.redis) await harness.seedRedis();
    if (options.kafka) await harness.seedKafka(options.kafka === true ? ['local-1'] : options.kafka);
    if (options.worker !== false) await harness.startWorker();
    return harness;
  }

  /**
   * Ports of its own: a block per jest worker (files in one worker run one after another, so
   * files running at once never share ports), clear of `npm start`'s and the kernel's ephemeral ones.
   */
  private async seedRedis(): Promise<void> {
    await this.api.get(FirstPartyCatalogService).seed();
    const worker = (Number(process.env.JEST_WORKER_ID ?? '1') - 1) % 8;
    const portMin = 20_000 + worker * 1_000 + randomInt(0, 5) * 200;
    await this.api.get(RedisHosts).register({
      name: 'local',
      address: '127.0.0.1',
      portMin,
      portMax: portMin + 199,
      dataDir: this.config.redisInstances.dataDir,
      capacity: 100,
    });
  }

  /** Instances left running by a test outlive it otherwise. */
  private async destroyRedisInstances(): Promise<void> {
    const store = this.api.get(Store);
    const box = this.api.get(SecretBox);
    for (const instance of await store.redis.instances.listActive()) {
      const host = (await store.redis.hosts.findById(instance.hostId))!;
      await this.api.get(RedisDriver).destroy(redisSpec(instance, host, box));
    }
    for (const spare of await store.redis.spares.list()) {
      const host = (await store.redis.hosts.findById(spare.hostId))!;
      await this.api.get(RedisDriver).destroy({ key: spare.key, host: this.api.get(RedisSpares).spec(spare, host).host, nodePorts: [spare.port], sentinelPort: null });
    }
    await rm(this.config.redisInstances.dataDir, { recursive: true, force: true });
  }

  private async seedKafka(names: string[]): Promise<void> {
    await this.api.get(FirstPartyCatalogService).seed();
    const local = localKafkaCluster();
    for (const name of names) await this.api.get(KafkaClusters).register({ name, ...local, capacity: 1000 });
  }

  /** Tenants left on the broker by a test outlive its database otherwise. */
  private async dropKafkaTenants(): Promise<void> {
    const store = this.api.get(Store);
    const box = this.api.get(SecretBox);
    for (const tenant of await store.kafka.tenants.listActive()) {
      const cluster = (await store.kafka.clusters.findById(tenant.clusterId))!;
      await this.api.get(KafkaClusterAdmin).dropTenant(kafkaConnection(cluster, box), { username: tenant.username, prefix: tenant.prefix });
    }
  }

  /** Tenants left on the shared clusters by a test outlive its database otherwise. */
  private async dropPostgresTenants(): Promise<void> {
    const store = this.api.get(Store);
    const admin = this.api.get(PostgresClusterAdmin);
    for (const database of await store.postgres.databases.listActive()) {
      const backend = await this.api.get(PostgresBackends).connection(database.backendId);
      const names = tenantNames(database.addonId);
      const roles = (await store.postgres.credentials.listAll(database.addonId)).map((c) => c.roleName);
      await admin.dropTenant(backend, database.databaseName, [...new Set([...roles, names.ownerRole, names.groupRole])]);
    }
  }

  /**
   * The host `local` over the suite's ATTACHE_PG_DEDICATED_PORTS, as `attache postgres:hosts:add-local`
   * registers it, so its dedicated clusters are placed on its own ports.
   */
  private async registerLocalPgHost(): Promise<void> {
    const { portMin, portMax } = this.config.pgDedicated;
    await this.dedicatedHosts().register({ name: 'local', address: '127.0.0.1', portMin, portMax, capacity: 200 });
  }

  /** Registration, draining and load of dedicated PostgreSQL hosts, as `attache postgres:hosts:*` does it. */
  dedicatedHosts(): PgDedicatedHosts {
    return this.api.get(PgDedicatedHosts);
  }

  /** The first-party catalog, and every local shared cluster as a backend with room. */
  private async seedPostgres(): Promise<void> {
    await this.api.get(FirstPartyCatalogService).seed();
    for (const cluster of localPostgresClusters()) {
      await this.api.get(PostgresBackends).register({
        name: cluster.name,
        host: cluster.host,
        port: cluster.port,
        adminUser: cluster.user,
        adminPassword: cluster.password,
        capacity: 1000,
      });
    }
  }

  get url(): string {
    return this.config.http.publicUrl;
  }

  http() {
    return request(this.url);
  }

  /** JSON calls with the Heroku Accept header, as `apiKey` when given. */
  client(apiKey?: string) {
    const agent = request(this.url);
    const wrap = (test: request.Test) => {
      test.set('Accept', ACCEPT);
      if (apiKey) test.set('Authorization', `Bearer ${apiKey}`);
      return test;
    };
    return {
      get: (path: string) => wrap(agent.get(path)),
      post: (path: string) => wrap(agent.post(path)),
      patch: (path: string) => wrap(agent.patch(path)),
      put: (path: string) => wrap(agent.put(path)),
      delete: (path: string) => wrap(agent.delete(path)),
    };
  }

  async startWorker(): Promise<void> {
    if (this.worker) return;
    this.worker = await NestFactory.createApplicationContext(
      { module: WorkerModule, imports: [ConfigModule.withConfig(this.config)] },
      { logger: false },
    );
    await this.worker.init();
  }

  async stopWorker(): Promise<void> {
    await this.worker?.close();
    this.worker = null;
  }

  /** A new account and its API key, created as `attache accounts:create` does. */
  async createAccount(prefix = 'dev'): Promise<{ email: string; apiKey: string; id: string }> {
    const email = `${prefix}-${randomBytes(4).toString('hex')}@example.test`;
    const { account, apiKey } = await this.api.get(AccountsService).createAccount(email);
    return { email, apiKey, id: account.id };
  }

  /**
   * Registers a vendor's manifest as its own new account would (first push over HTTP) and, by
   * default, publishes the service as an operator does.
   */
  async registerVendor(manifest: { id: string }, options: { publish?: boolean } = {}) {
    const vendor = await this.createAccount('vendor');
    const response = await this.client(vendor.apiKey).post(`/api/v3/addons/${manifest.id}/manifests`).send({ contents: manifest });
    if (response.status !== 201) throw new Error(`manifest push failed: ${response.status} ${JSON.stringify(response.body)}`);
    if (options.publish !== false) await this.api.get(ManifestService).publish(manifest.id);
    return { slug: manifest.id, apiKey: vendor.apiKey, email: vendor.email, clientSecret: response.body.client_secret as string };
  }

  /** A started ScriptedVendor with a random slug from `slugPrefix`, not registered; stop() stops it. */
  async newVendor(slugPrefix: string, password = VENDOR_PASSWORD): Promise<ScriptedVendor> {
    const vendor = new ScriptedVendor({ slug: `${slugPrefix}-${randomBytes(4).toString('hex')}`, password });
    this.vendors.push(vendor);
    await vendor.start();
    return vendor;
  }

  /** newVendor() whose manifestFor(vendor, overrides) is then registered (and published unless `publish: false`) by registerVendor(). */
  async startVendor(slugPrefix: string, overrides: VendorManifestOverrides = {}, options: { publish?: boolean; password?: string } = {}) {
    const vendor = await this.newVendor(slugPrefix, options.password);
    return { vendor, ...(await this.registerVendor(manifestFor(vendor, overrides), options)) };
  }

  /** A new app owned by the account. */
  async createApp(apiKey: string, name?: string): Promise<{ id: string; name: string }> {
    const response = await this.client(apiKey).post('/apps').send(name ? { name } : {});
    if (response.status !== 201 && response.status !== 200) throw new Error(`app create failed: ${response.status} ${JSON.stringify(response.body)}`);
    return { id: response.body.id, name: response.body.name };
  }

  async configVars(apiKey: string, app: string): Promise<Record<string, string>> {
    const response = await this.client(apiKey).get(`/apps/${app}/config-vars`);
    if (response.status !== 200) throw new Error(`config-vars failed: ${response.status}`);
    return response.body;
  }

  /** Lifecycle events of an add-on, oldest first. */
  async events(addonId: string): Promise<string[]> {
    const result = await this.pg.query('SELECT type FROM lifecycle_events WHERE addon_id = $1 ORDER BY id', [addonId]);
    return result.rows.map((r: { type: string }) => r.type);
  }

  /** Polls the add-on (as its owner) until `done` holds or the time runs out. */
  async waitForAddon(apiKey: string, addon: string, done: (body: { state: string; [k: string]: unknown }) => boolean, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    let last: { status: number; body: unknown } | undefined;
    while (Date.now() < deadline) {
      const response = await this.http().get(`/addons/${addon}`).set('Authorization', `Bearer ${apiKey}`).set('Accept', ACCEPT);
      last = { status: response.status, body: response.body };
      if (response.status === 200 && done(response.body)) return response.body as { state: string; [k: string]: unknown };
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`add-on ${addon} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.vendors.map((v) => v.stop()));
    await this.stopWorker();
    await this.dropPostgresTenants();
    await this.destroyRedisInstances();
    await this.dropKafkaTenants();
    await this.api.close();
    await this.pg.end();
    await this.dropDatabase();
  }

  /** The app's releases, newest first. */
  async releases(apiKey: string, app: string): Promise<{ version: number; description: string; current: boolean }[]> {
    const response = await this.client(apiKey).get(`/apps/${app}/releases`).set('Range', 'version ..; order=desc');
    if (response.status !== 200) throw new Error(`releases failed: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  }

  /** Polls `GET /addons/{addon}` (as its owner) until it answers 404. */
  async waitForAddonGone(apiKey: string, addon: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: { status: number; body: unknown } | undefined;
    while (Date.now() < deadline) {
      const response = await this.client(apiKey).get(`/addons/${addon}`);
      last = { status: response.status, body: response.body };
      if (response.status === 404) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`add-on ${addon} still answers after ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
  }

  /** Polls `check` until it returns something other than undefined; throws after the timeout. */
  async waitUntil<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const value = await check();
      if (value !== undefined) return value;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }

  /** Publishes a vendor's service, as an operator does with `attache services:publish`. */
  async publishService(slug: string): Promise<void> {
    await this.api.get(ManifestService).publish(slug);
  }
}

/** Typed configuration, one section per concern. Built only by `loadConfig`. */
export interface AppConfig {
  env: 'development' | 'test' | 'production';
  http: { host: string; port: number; publicUrl: string; bodyLimit: string };
  database: { url: string; poolSize: number };
  redis: { url: string };
  queues: { prefix: string; workerConcurrency: number; lockDurationMs: number };
  encryption: { currentKey: Buffer; previousKeys: Buffer[] };
  provider: {
    timeoutMs: number;
    maxAttempts: number;
    backoffMs: number;
    deprovisionMaxAttempts: number;
    asyncDeadlineMs: number;
  };
  reconciler: { intervalMs: number; stuckAfterMs: number };
  postgres: {
    storageScale: number;
    storageGraceMs: number;
    maintenanceIntervalMs: number;
    backupDir: string;
    downloadTtlMs: number;
    manualBackupsKept: number;
    scheduledBackupsKept: number;
  };
  /** First-party Redis add-ons (not Attache's own Redis, which is `redis`). */
  redisInstances: {
    superviseIntervalMs: number;
    /** Spare mini nodes kept running per host, claimed by new minis (ATTACHE_REDIS_SPARES; 0 turns them off). */
    sparesPerHost: number;
    /** The local host's data directory and port range (`attache redis:hosts:add-local`). */
    dataDir: string;
    portMin: number;
    portMax: number;
  };
  /** Dedicated-plan PostgreSQL clusters on this machine (the local driver). */
  pgDedicated: {
    rootDir: string;
    portMin: number;
    portMax: number;
    /** New dedicated clusters accept tenants over TLS only (ATTACHE_PG_DEDICATED_TLS). */
    tls: boolean;
    superviseIntervalMs: number;
    baseBackupIntervalMs: number;
    /** How often the worker looks after the archives (base backups due, pruning, retention). */
    archiveCheckIntervalMs: number;
    archiveRetentionMs: number;
  };
  billing: {
    /** How long after a month ends its invoices wait for late vendor usage. */
    invoiceGraceMs: number;
    /** The platform's share of what vendors' add-ons earn, in percent. */
    platformSharePercent: number;
    /** How often the worker looks for a month to invoice. */
    invoiceCheckIntervalMs: number;
    /** How long one record of first-party metered usage covers (an hour; tests shorten it). */
    firstPartyUsagePeriodMs: number;
  };
  /** First-party Kafka add-ons. */
  kafka: {
    /** How often the worker samples every tenant's topic counters (the traffic history). */
    sampleIntervalMs: number;
  };
  /** Partner webhook deliveries. */
  webhooks: {
    /** Attempts of a `sync` delivery, the first included; `notify` gets one. */
    maxAttempts: number;
    /** Wait before the first retry, doubling per retry up to `backoffCapMs`. */
    backoffMs: number;
    backoffCapMs: number;
    /** How long a receiver has to answer. */
    timeoutMs: number;
    /** How often the worker fans the lifecycle log out into deliveries (and re-queues lost ones). */
    fanOutIntervalMs: number;
    /** How long past due a delivery waits before the fan-out queues it again (its job was lost). */
    overdueAfterMs: number;
  };
  rateLimit: { perHour: number };
  worker: { port: number };
  log: { level: string };
}

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SecretBox } from '@app/common';
import { AppConfig } from './app-config';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Where local development keeps generated state (the encryption key); outside git. */
export const localStateDir = (env: Env = process.env): string =>
  resolve(env.ATTACHE_LOCAL_DIR ?? join(projectRoot(), '.local'));

/** The folder holding Attache's package.json, from source or from dist alike. */
export function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) || existsSync(join(dir, 'tsconfig.build.json')) === false) {
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

/**
 * The only reader of process.env. Collects every problem before failing, so one start
 * shows all that is wrong.
 */
export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];

  const str = (name: string, fallback: string): string => {
    const value = env[name];
    return value === undefined || value === '' ? fallback : value;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };
  const num = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) {
      problems.push(`${name} must be a number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };
  const onOff = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (raw === 'on' || raw === 'off') return raw === 'on';
    problems.push(`${name} must be on or off (got "${raw}")`);
    return fallback;
  };
  const url = (name: string, fallback: string, protocols: string[]): string => {
    const value = str(name, fallback);
    try {
      const parsed = new URL(value);
      if (!protocols.includes(parsed.protocol)) {
        problems.push(`${name} must use ${protocols.join(' or ')} (got ${parsed.protocol})`);
      }
    } catch {
      problems.push(`${name} is not a valid URL`);
    }
    return value;
  };

  const nodeEnv = str('NODE_ENV', 'development');
  if (!['development', 'test', 'production'].includes(nodeEnv)) {
    problems.push(`NODE_ENV must be development, test or production (got "${nodeEnv}")`);
  }
  const envName = (['development', 'test', 'production'].includes(nodeEnv) ? nodeEnv : 'development') as AppConfig['env'];

  const port = int('PORT', 5000, 0, 65535);
  const host = str('HOST', '127.0.0.1');
  const publicUrl = url('ATTACHE_PUBLIC_URL', `http://127.0.0.1:${port}`, ['http:', 'https:']).replace(/\/+$/, '');

  const encryption = loadEncryptionKeys(env, envName, problems);

  const config: AppConfig = {
    env: envName,
    http: { host, port, publicUrl, bodyLimit: str('ATTACHE_BODY_LIMIT', '100kb') },
    database: {
      url: url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/attache', ['postgres:', 'postgresql:']),
      poolSize: int('DATABASE_POOL_SIZE', 20, 1, 500),
    },
    redis: { url: url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']) },
    queues: {
      prefix: str('ATTACHE_QUEUE_PREFIX', 'attache'),
      workerConcurrency: int('WORKER_CONCURRENCY', 50, 1, 1000),
      // How long a job may run without renewing its lock before another worker takes it over.
      lockDurationMs: int('WORKER_LOCK_MS', 30_000, 1_000, 600_000),
    },
    encryption,
    provider: {
      // The provider protocol caps every call at 30 s; a manifest may only lower it.
      timeoutMs: int('PROVIDER_TIMEOUT_MS', 10_000, 100, 30_000),
      maxAttempts: int('PROVIDER_MAX_ATTEMPTS', 8, 1, 100),
      backoffMs: int('PROVIDER_BACKOFF_MS', 1_000, 1, 600_000),
      deprovisionMaxAttempts: int('DEPROVISION_MAX_ATTEMPTS', 25, 1, 1000),
      asyncDeadlineMs: int('ASYNC_PROVISION_DEADLINE_MS', 12 * 3600_000, 1_000, 7 * 24 * 3600_000),
    },
    reconciler: {
      intervalMs: int('RECONCILE_INTERVAL_MS', 30_000, 100, 3600_000),
      stuckAfterMs: int('RECONCILE_STUCK_AFTER_MS', 120_000, 100, 24 * 3600_000),
    },
    postgres: {
      // Tests shrink every plan's storage limit to megabytes.
      storageScale: num('ATTACHE_POSTGRES_STORAGE_SCALE', 1, 1e-6, 1),
      storageGraceMs: int('ATTACHE_POSTGRES_STORAGE_GRACE_MS', 7 * 24 * 3600_000, 0, 90 * 24 * 3600_000),
      maintenanceIntervalMs: int('ATTACHE_POSTGRES_MAINTENANCE_INTERVAL_MS', 60_000, 100, 24 * 3600_000),
      backupDir: resolve(str('ATTACHE_BACKUP_DIR', join(localStateDir(env), 'backups'))),
      downloadTtlMs: int('ATTACHE_BACKUP_DOWNLOAD_TTL_MS', 10 * 60_000, 1_000, 7 * 24 * 3600_000),
      manualBackupsKept: int('ATTACHE_MANUAL_BACKUPS_KEPT', 10, 1, 1000),
      scheduledBackupsKept: int('ATTACHE_SCHEDULED_BACKUPS_KEPT', 7, 1, 1000),
    },
    redisInstances: {
      superviseIntervalMs: int('ATTACHE_REDIS_SUPERVISE_INTERVAL_MS', 1_000, 100, 3600_000),
      sparesPerHost: int('ATTACHE_REDIS_SPARES', 2, 0, 100),
      dataDir: resolve(str('ATTACHE_REDIS_DATA_DIR', join(localStateDir(env), 'redis'))),
      ...portRange(str('ATTACHE_REDIS_PORTS', '17000-17999'), problems),
    },
    pgDedicated: {
      rootDir: resolve(str('ATTACHE_PG_DEDICATED_DIR', process.getuid?.() === 0 ? '/var/lib/attache/pg-dedicated' : join(localStateDir(env), 'pg-dedicated'))),
      ...dedicatedPortRange(str('ATTACHE_PG_DEDICATED_PORTS', '15400-15599'), problems),
      superviseIntervalMs: int('ATTACHE_PG_DEDICATED_SUPERVISE_INTERVAL_MS', 2_000, 100, 3600_000),
      baseBackupIntervalMs: int('ATTACHE_PG_DEDICATED_BASE_BACKUP_INTERVAL_MS', 24 * 3600_000, 1_000, 30 * 24 * 3600_000),
      archiveCheckIntervalMs: int('ATTACHE_PG_DEDICATED_ARCHIVE_CHECK_INTERVAL_MS', 60_000, 100, 24 * 3600_000),
      archiveRetentionMs: int('ATTACHE_PG_DEDICATED_ARCHIVE_RETENTION_MS', 7 * 24 * 3600_000, 0, 365 * 24 * 3600_000),
      tls: onOff('ATTACHE_PG_DEDICATED_TLS', false),
    },
    billing: {
      invoiceGraceMs: int('ATTACHE_BILLING_GRACE_MS', 2 * 24 * 3600_000, 0, 28 * 24 * 3600_000),
      platformSharePercent: num('ATTACHE_PLATFORM_SHARE_PERCENT', 20, 0, 100),
      invoiceCheckIntervalMs: int('ATTACHE_BILLING_CHECK_INTERVAL_MS', 3600_000, 100, 24 * 3600_000),
      firstPartyUsagePeriodMs: int('ATTACHE_FIRST_PARTY_USAGE_PERIOD_MS', 3600_000, 100, 24 * 3600_000),
    },
    kafka: {
      sampleIntervalMs: int('ATTACHE_KAFKA_SAMPLE_INTERVAL_MS', 60_000, 100, 3600_000),
    },
    webhooks: {
      maxAttempts: int('WEBHOOK_MAX_ATTEMPTS', 10, 1, 50),
      backoffMs: int('WEBHOOK_BACKOFF_MS', 10_000, 1, 3600_000),
      backoffCapMs: int('WEBHOOK_BACKOFF_CAP_MS', 3600_000, 1, 24 * 3600_000),
      timeoutMs: int('WEBHOOK_TIMEOUT_MS', 10_000, 100, 30_000),
      fanOutIntervalMs: int('WEBHOOK_FANOUT_INTERVAL_MS', 1_000, 50, 3600_000),
      overdueAfterMs: int('WEBHOOK_OVERDUE_AFTER_MS', 30_000, 100, 24 * 3600_000),
    },
    rateLimit: { perHour: int('RATE_LIMIT_PER_HOUR', 4_500, 1, 100_000_000) },
    worker: { port: int('WORKER_PORT', 5001, 0, 65535) },
    log: { level: str('LOG_LEVEL', envName === 'test' ? 'warn' : 'info') },
  };
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.log.level)) {
    problems.push(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function portRange(text: string, problems: string[]): { portMin: number; portMax: number } {
  const match = /^(\d{4,5})-(\d{4,5})$/.exec(text.trim());
  const [portMin, portMax] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!(portMin >= 1024 && portMax <= 65535 && portMin <= portMax)) {
    problems.push(`ATTACHE_REDIS_PORTS must be a range such as 17000-17999 within 1024-65535 (got "${text}")`);
    return { portMin: 17000, portMax: 17999 };
  }
  return { portMin, portMax };
}

function dedicatedPortRange(text: string, problems: string[]): { portMin: number; portMax: number } {
  const match = /^(\d{4,5})-(\d{4,5})$/.exec(text.trim());
  const [portMin, portMax] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!(portMin >= 1024 && portMax <= 65535 && portMin <= portMax)) {
    problems.push(`ATTACHE_PG_DEDICATED_PORTS must be a range such as 15400-15599 within 1024-65535 (got "${text}")`);
    return { portMin: 15400, portMax: 15599 };
  }
  return { portMin, portMax };
}

function loadEncryptionKeys(env: Env, envName: AppConfig['env'], problems: string[]): AppConfig['encryption'] {
  const parse = (name: string, text: string): Buffer | undefined => {
    try {
      return SecretBox.parseKey(text);
    } catch (error) {
      problems.push(`${name} ${(error as Error).message}`);
      return undefined;
    }
  };
  let currentText = env.ATTACHE_ENCRYPTION_KEY;
  if (!currentText) {
    if (envName === 'production') {
      problems.push('ATTACHE_ENCRYPTION_KEY is required in production (32 bytes as hex or base64)');
    } else {
      currentText = localDevelopmentKey(env);
    }
  }
  const previousKeys = (env.ATTACHE_PREVIOUS_ENCRYPTION_KEYS ?? '')
    .split(',')
    .filter((text) => text.trim() !== '')
    .map((text) => parse('ATTACHE_PREVIOUS_ENCRYPTION_KEYS', text))
    .filter((key): key is Buffer => key !== undefined);
  const currentKey = currentText ? parse('ATTACHE_ENCRYPTION_KEY', currentText) : undefined;
  return { currentKey: currentKey ?? Buffer.alloc(32), previousKeys };
}

/** Generated once and kept in the local state directory, so local secrets survive restarts. */
function localDevelopmentKey(env: Env): string {
  const file = join(localStateDir(env), 'encryption.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const key = randomBytes(32).toString('hex');
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}

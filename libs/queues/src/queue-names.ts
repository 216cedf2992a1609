import { ProvisionHeadStart } from '@app/domain';

/**
 * Every queue and its job payload. Payloads carry ids, and no secret in the clear: the one a
 * provision's head start may carry is sealed, and leaves Redis with its job.
 */
export const QUEUES = {
  provision: 'addon-provision',
  planChange: 'addon-plan-change',
  deprovision: 'addon-deprovision',
  maintenance: 'maintenance',
  postgres: 'postgres',
  webhooks: 'webhook-delivery',
  pgDedicated: 'postgres-dedicated',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export interface AddonJobPayload {
  addonId: string;
}

export interface ProvisionJobPayload extends AddonJobPayload {
  /** Only from the transaction creating the add-on. */
  headStart?: ProvisionHeadStart;
}

export interface PlanChangeJobPayload {
  addonId: string;
  seq: number;
}

export const RECONCILE_JOB = 'reconcile';
/** First-party PostgreSQL upkeep: storage limits, unfinished credential changes, scheduled backups. */
export const POSTGRES_MAINTENANCE_JOB = 'postgres-maintenance';
/** First-party Redis supervision: crashed processes restarted, failovers followed, rotations finished. */
export const REDIS_SUPERVISE_JOB = 'redis-supervise';
/** First-party Redis: top the spare pools up (queued after a provision claims a spare). */
export const REDIS_SPARES_JOB = 'redis-spares';
export const KAFKA_SAMPLE_JOB = 'kafka-sample';
export const BILLING_INVOICES_JOB = 'billing-invoices';

export const POSTGRES_JOBS = { backup: 'backup', restore: 'restore' } as const;

export interface PostgresJobPayload {
  id: string;
}

/** Deterministic job ids: the same (add-on, action) is never queued twice while one is live. */
export const jobIds = {
  provision: (addonId: string) => `provision.${addonId}`,
  planChange: (addonId: string, seq: number) => `plan-change.${addonId}.${seq}`,
  deprovision: (addonId: string) => `deprovision.${addonId}`,
  postgresBackup: (backupId: string) => `postgres-backup.${backupId}`,
  postgresRestore: (restoreId: string) => `postgres-restore.${restoreId}`,
};

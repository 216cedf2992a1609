import { PostgresAddon, PostgresBackup, PostgresCredential, PostgresInfo, PostgresRestore, backupName } from '@app/domain';

const addonRef = (target: PostgresAddon) => ({ id: target.addon.id, name: target.addon.name });

export const toInfoResponse = (info: PostgresInfo) => ({
  addon: addonRef(info.target),
  plan: { name: `${info.target.service.slug}:${info.target.plan.name}` },
  status: info.status,
  restricted: info.restrictedAt !== null,
  restricted_at: info.restrictedAt,
  over_limit_since: info.overLimitSince,
  storage: { used_bytes: info.storageBytes, limit_bytes: info.storageLimitBytes, measured_at: info.measuredAt },
  connections: { used: info.connections, limit: info.connectionLimit },
  tables: info.tables,
  server_version: info.serverVersion,
  backup_schedule: info.target.database.backupHourUtc === null ? null : { hour: info.target.database.backupHourUtc, timezone: 'UTC' },
  created_at: info.target.addon.createdAt,
});

export const toCredentialResponse = (credential: PostgresCredential, url?: string) => ({
  id: credential.id,
  name: credential.name,
  username: credential.roleName,
  state: credential.state,
  created_at: credential.createdAt,
  rotated_at: credential.rotatedAt,
  ...(url === undefined ? {} : { url }),
});

export const toBackupResponse = (backup: PostgresBackup) => ({
  id: backup.id,
  name: backupName(backup),
  addon: { id: backup.addonId },
  kind: backup.kind,
  state: backup.state,
  scheduled_for: backup.scheduledFor,
  size_bytes: backup.sizeBytes,
  error: backup.error,
  created_at: backup.createdAt,
  started_at: backup.startedAt,
  finished_at: backup.finishedAt,
});

export const toRestoreResponse = (restore: PostgresRestore) => ({
  id: restore.id,
  addon: { id: restore.addonId },
  backup: { id: restore.backupId },
  state: restore.state,
  error: restore.error,
  created_at: restore.createdAt,
  started_at: restore.startedAt,
  finished_at: restore.finishedAt,
});

export const toScheduleResponse = (target: PostgresAddon) => ({
  addon: addonRef(target),
  hour: target.database.backupHourUtc,
  timezone: 'UTC',
});

import { DedicatedInfo, PgReplicationLag } from '@app/domain';

const lagResponse = (lag: PgReplicationLag | null) => (lag ? { bytes: lag.bytes, seconds: lag.seconds } : null);

/** A dedicated add-on's cluster: plan, status, rollback window, archive, followers. No secrets. */
export function toDedicatedInfoResponse(info: DedicatedInfo) {
  const { addon, plan, cluster, status, window } = info;
  return {
    addon: { id: addon.id, name: addon.name },
    plan: { name: `postgresql:${plan.name}` },
    status: status.running ? (status.inRecovery ? 'following' : 'available') : 'unavailable',
    origin: cluster.origin,
    port: cluster.port,
    server_version: status.serverVersion,
    data_size_bytes: status.sizeBytes,
    connections: status.connections,
    rollback: window ? { earliest_time: window.earliest?.toISOString() ?? null, latest_time: window.latest.toISOString() } : null,
    wal_archive_bytes: status.walArchiveBytes,
    base_backups: status.baseBackups.map((b) => ({ finished_at: b.finishedAt.toISOString(), bytes: b.bytes })),
    last_base_backup_at: cluster.lastBaseBackupAt?.toISOString() ?? null,
    following: info.following ? { addon: info.following.addon, lag: lagResponse(info.following.lag) } : null,
    followers: info.followers.map((f) => ({ addon: f.addon, lag: lagResponse(f.lag) })),
    standby: info.standby
      ? { state: info.standby.state, lag_bytes: info.standby.lagBytes, last_failover_at: info.standby.lastFailoverAt?.toISOString() ?? null }
      : null,
  };
}

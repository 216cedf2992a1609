import { RedisAddon, RedisInfo } from '@app/domain';

const addonRef = (target: RedisAddon) => ({ id: target.addon.id, name: target.addon.name });

export const toRedisResponse = (target: RedisAddon, info?: RedisInfo) => ({
  addon: addonRef(target),
  plan: { name: `${target.service.slug}:${target.plan.name}` },
  maxmemory_policy: target.instance.maxmemoryPolicy,
  timeout: target.instance.timeoutSeconds,
  persistence: target.instance.persistence ? 'aof' : 'none',
  high_availability: target.instance.highAvailability,
  last_failover_at: target.instance.lastFailoverAt,
  ...(info
    ? {
        version: info.version,
        role: info.role,
        memory: { used_bytes: info.usedMemoryBytes, limit_bytes: info.maxmemoryBytes },
        clients: { connected: info.connectedClients, limit: info.maxclients },
        ops_per_second: info.opsPerSecond,
        keys: info.keys,
        aof: { enabled: info.persistence.aofEnabled, last_write_status: info.persistence.lastWriteStatus },
        replication: { replicas: info.replication.replicas, lag_bytes: info.replication.lagBytes, link_up: info.replication.linkUp },
      }
    : {}),
  created_at: target.addon.createdAt,
});

import Redis from 'ioredis';

/** Workers announce themselves every few seconds; health checks count the recent ones. */
export const heartbeatKey = (prefix: string) => `${prefix}:workers`;
export const HEARTBEAT_INTERVAL_MS = 5_000;
export const HEARTBEAT_STALE_MS = 20_000;

export async function beat(redis: Redis, prefix: string, member: string, now = Date.now()): Promise<void> {
  await redis
    .multi()
    .zadd(heartbeatKey(prefix), now, member)
    .zremrangebyscore(heartbeatKey(prefix), 0, now - 10 * HEARTBEAT_STALE_MS)
    .exec();
}

export async function liveWorkers(redis: Redis, prefix: string, now = Date.now()): Promise<number> {
  return redis.zcount(heartbeatKey(prefix), now - HEARTBEAT_STALE_MS, '+inf');
}

import { createHash } from 'node:crypto';
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from '@app/config';
import { SignInAttempt, SignInThrottle } from '@app/domain';

const WINDOW_MS = 15 * 60_000;
/** Attempts per email within the window (right ones do not count) before that email is locked for the rest of it. */
export const FAILURES_PER_EMAIL = 5;
/** Attempts per client address: higher, as many people may share one. */
export const FAILURES_PER_IP = 50;

/**
 * KEYS: the counters; ARGV: the window in ms, then each counter's limit. When any counter is at its
 * limit, answers the ms until its window ends and counts nothing; otherwise counts the attempt on
 * every counter (a new counter's window starts now) and answers 0. One script, so attempts
 * arriving together are counted one after another.
 */
const BEGIN = `
local wait = 0
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then
      redis.call('PEXPIRE', key, ARGV[1])
      ttl = tonumber(ARGV[1])
    end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
end
return 0`;

/** KEYS[1]: the address's counter, which gives the attempt back; KEYS[2] (optional): the email's, which is forgotten. */
const SUCCEEDED = `
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
if KEYS[2] then redis.call('DEL', KEYS[2]) end
return 0`;

/** Sign-in attempts counted in Redis, per email and per client address, shared by every API process. */
@Injectable()
export class RedisSignInThrottle extends SignInThrottle implements OnModuleDestroy {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super();
    this.redis = new Redis(config.redis.url, { enableOfflineQueue: true, maxRetriesPerRequest: 2 });
    this.prefix = `${config.queues.prefix}:sign-in`;
  }

  async begin(attempt: SignInAttempt): Promise<number> {
    const keys = [...(attempt.email ? [this.emailKey(attempt.email)] : []), this.ipKey(attempt.ip)];
    const limits = [...(attempt.email ? [FAILURES_PER_EMAIL] : []), FAILURES_PER_IP];
    const waitMs = Number(await this.redis.eval(BEGIN, keys.length, ...keys, WINDOW_MS, ...limits));
    return Math.ceil(waitMs / 1000);
  }

  async succeeded(attempt: SignInAttempt): Promise<void> {
    const keys = [this.ipKey(attempt.ip), ...(attempt.email ? [this.emailKey(attempt.email)] : [])];
    await this.redis.eval(SUCCEEDED, keys.length, ...keys);
  }

  onModuleDestroy(): void {
    this.redis.disconnect();
  }

  /** Emails are kept as hashes: the key stays short whatever was typed, and Redis holds no addresses. */
  private emailKey(email: string): string {
    return `${this.prefix}:email:${createHash('sha256').update(email).digest('hex')}`;
  }

  private ipKey(ip: string): string {
    return `${this.prefix}:ip:${ip}`;
  }
}

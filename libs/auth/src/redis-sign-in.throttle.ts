import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { APP_CONFIG, AppConfig } from '@app/config';
import { SignInAttempt, SignInThrottle } from '@app/domain';

const WINDOW_SECONDS = 15 * 60;
/** Failures per email within the window before that email is locked for the rest of it. */
export const FAILURES_PER_EMAIL = 5;
/** Failures per client address: higher, as many people may share one. */
export const FAILURES_PER_IP = 50;

/** Failed sign-ins counted in Redis, per email and per client address, shared by every API process. */
@Injectable()
export class RedisSignInThrottle extends SignInThrottle implements OnModuleDestroy {
  private readonly redis: Redis;
  private readonly byEmail: RateLimiterRedis;
  private readonly byIp: RateLimiterRedis;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super();
    this.redis = new Redis(config.redis.url, { enableOfflineQueue: true, maxRetriesPerRequest: 2 });
    const limiter = (kind: string, points: number) =>
      new RateLimiterRedis({ storeClient: this.redis, keyPrefix: `${config.queues.prefix}:sign-in:${kind}`, points, duration: WINDOW_SECONDS });
    this.byEmail = limiter('email', FAILURES_PER_EMAIL);
    this.byIp = limiter('ip', FAILURES_PER_IP);
  }

  async retryAfterSeconds(attempt: SignInAttempt): Promise<number> {
    const [email, ip] = await Promise.all([attempt.email ? this.byEmail.get(attempt.email) : null, this.byIp.get(attempt.ip)]);
    const waits = [
      email && email.consumedPoints >= FAILURES_PER_EMAIL ? email.msBeforeNext : 0,
      ip && ip.consumedPoints >= FAILURES_PER_IP ? ip.msBeforeNext : 0,
    ];
    return Math.ceil(Math.max(...waits) / 1000);
  }

  async recordFailure(attempt: SignInAttempt): Promise<void> {
    await Promise.all([attempt.email ? this.byEmail.penalty(attempt.email, 1) : null, this.byIp.penalty(attempt.ip, 1)]);
  }

  async recordSuccess(attempt: SignInAttempt): Promise<void> {
    if (attempt.email) await this.byEmail.delete(attempt.email);
  }

  onModuleDestroy(): void {
    this.redis.disconnect();
  }
}

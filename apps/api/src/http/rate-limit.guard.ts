import { CanActivate, ExecutionContext, HttpException, Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Request, Response } from 'express';
import Redis from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Principal } from '@app/auth';

/** A budget's points left, as Redis last answered for it here, counted down by the requests let through since. */
interface KnownBudget {
  remaining: number;
  answeredAt: number;
}

/** How long a budget's last answer is trusted to let requests through before theirs. */
const KNOWN_FOR_MS = 10_000;
/** Budgets remembered at most; past it they are forgotten (and their next request waits for its count). */
const KNOWN_BUDGETS = 10_000;

/**
 * Per-principal request budget (Heroku: 4,500 per hour), reported in `RateLimit-Remaining`;
 * 429 `rate_limit` once spent. Runs after authentication; anonymous catalog reads share an IP budget.
 *
 * Every request is counted in Redis. A request waits for its count while its budget may be close
 * to spent: when this process has had no answer for it in the last 10 s, or the last one (counted
 * down since) left no more than a tenth of the budget, or 100 points if that is more. Otherwise it
 * goes on while it is counted (a Redis round trip less in its latency), and its
 * `RateLimit-Remaining` is that answer counted down: exact unless other processes spent from the
 * same budget meanwhile.
 */
@Injectable()
export class RateLimitGuard implements CanActivate, OnModuleDestroy {
  private readonly redis: Redis;
  private readonly limiter: RateLimiterRedis;
  private readonly known = new Map<string, KnownBudget>();
  private readonly ample: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.redis = new Redis(config.redis.url, { enableOfflineQueue: true, maxRetriesPerRequest: 2, lazyConnect: false });
    this.limiter = new RateLimiterRedis({
      storeClient: this.redis,
      keyPrefix: `${config.queues.prefix}:ratelimit`,
      points: config.rateLimit.perHour,
      duration: 3600,
    });
    this.ample = Math.max(100, Math.ceil(config.rateLimit.perHour / 10));
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Request & { user?: Principal }>();
    const response = context.switchToHttp().getResponse<Response>();
    const principal = request.user;
    const key =
      principal?.kind === 'account' ? `account:${principal.account.id}` : principal?.kind === 'partner' ? `addon:${principal.addonId}` : principal?.kind === 'vendor' ? `service:${principal.serviceId}` : `ip:${request.ip}`;
    const known = this.known.get(key);
    const counting = this.limiter.consume(key, 1);
    if (known && known.remaining > this.ample && Date.now() - known.answeredAt < KNOWN_FOR_MS) {
      known.remaining -= 1;
      response.setHeader('RateLimit-Remaining', String(known.remaining));
      // Answers of requests let through may come back out of order: the lowest is the latest.
      counting.then(
        (result) => (known.remaining = Math.min(known.remaining, result.remainingPoints)),
        (error: unknown) => {
          if (error instanceof RateLimiterRes) known.remaining = 0;
          // Redis failed to count: the next request waits for its count again (and fails as it would have).
          else known.answeredAt = 0;
        },
      );
      return true;
    }
    try {
      const result = await counting;
      this.remember(key, result.remainingPoints);
      response.setHeader('RateLimit-Remaining', String(result.remainingPoints));
      return true;
    } catch (error) {
      if (error instanceof RateLimiterRes) {
        this.remember(key, 0);
        response.setHeader('RateLimit-Remaining', '0');
        response.setHeader('Retry-After', String(Math.ceil(error.msBeforeNext / 1000)));
        throw new HttpException({ id: 'rate_limit', message: 'Your account reached the API rate limit. Please wait a few minutes before making new requests.' }, 429);
      }
      throw error;
    }
  }

  onModuleDestroy(): void {
    this.redis.disconnect();
  }

  private remember(key: string, remaining: number): void {
    if (!this.known.has(key) && this.known.size >= KNOWN_BUDGETS) this.known.clear();
    this.known.set(key, { remaining, answeredAt: Date.now() });
  }
}

import { CanActivate, ExecutionContext, HttpException, Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Request, Response } from 'express';
import Redis from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Principal } from '@app/auth';

/**
 * Per-principal request budget (Heroku: 4,500 per hour), reported in `RateLimit-Remaining`;
 * 429 `rate_limit` once spent. Runs after authentication; anonymous catalog reads share an IP budget.
 */
@Injectable()
export class RateLimitGuard implements CanActivate, OnModuleDestroy {
  private readonly redis: Redis;
  private readonly limiter: RateLimiterRedis;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.redis = new Redis(config.redis.url, { enableOfflineQueue: true, maxRetriesPerRequest: 2, lazyConnect: false });
    this.limiter = new RateLimiterRedis({
      storeClient: this.redis,
      keyPrefix: `${config.queues.prefix}:ratelimit`,
      points: config.rateLimit.perHour,
      duration: 3600,
    });
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Request & { user?: Principal }>();
    const response = context.switchToHttp().getResponse<Response>();
    const principal = request.user;
    const key =
      principal?.kind === 'account' ? `account:${principal.account.id}` : principal?.kind === 'partner' ? `addon:${principal.addonId}` : principal?.kind === 'vendor' ? `service:${principal.serviceId}` : `ip:${request.ip}`;
    try {
      const result = await this.limiter.consume(key, 1);
      response.setHeader('RateLimit-Remaining', String(result.remainingPoints));
      return true;
    } catch (error) {
      if (error instanceof RateLimiterRes) {
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
}

import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { hostname } from 'node:os';
import { APP_CONFIG, AppConfig } from '@app/config';
import { HEARTBEAT_INTERVAL_MS, beat } from '@app/observability';

/** Tells health checks this worker is alive. */
@Injectable()
export class HeartbeatService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly redis: Redis;
  private timer?: NodeJS.Timeout;
  private readonly member = `${hostname()}:${process.pid}`;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.redis = new Redis(config.redis.url, { maxRetriesPerRequest: 1 });
    this.redis.on('error', () => undefined);
  }

  async onApplicationBootstrap(): Promise<void> {
    const tick = () => beat(this.redis, this.config.queues.prefix, this.member).catch(() => undefined);
    await tick();
    this.timer = setInterval(tick, HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.redis.zrem(`${this.config.queues.prefix}:workers`, this.member).catch(() => undefined);
    this.redis.disconnect();
  }
}

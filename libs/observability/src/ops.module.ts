import { Controller, DynamicModule, Get, Header, Inject, Injectable, Module, OnModuleDestroy } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import Redis from 'ioredis';
import { Gauge, collectDefaultMetrics, register } from 'prom-client';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { liveWorkers } from './heartbeat';

/** Supplies job counts per queue and state for the `attache_jobs` gauge. */
export abstract class JobCountsSource {
  abstract jobCounts(): Promise<Record<string, Record<string, number>>>;
}

@Injectable()
export class OpsRedis implements OnModuleDestroy {
  readonly client: Redis;
  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.client = new Redis(config.redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
    this.client.on('error', () => undefined);
  }
  onModuleDestroy(): void {
    this.client.disconnect();
  }
}

@Injectable()
export class HealthChecks {
  constructor(
    private readonly dataSource: DataSource,
    private readonly redisClient: OpsRedis,
    private readonly indicators: HealthIndicatorService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async postgres() {
    const session = this.indicators.check('postgres');
    try {
      await this.dataSource.query('SELECT 1');
      return session.up();
    } catch {
      // The health endpoint is public: say what is down, not the driver's error text.
      return session.down('unreachable');
    }
  }

  async redis() {
    const session = this.indicators.check('redis');
    try {
      await this.redisClient.client.ping();
      return session.up();
    } catch {
      return session.down('unreachable');
    }
  }

  async worker() {
    const session = this.indicators.check('worker');
    try {
      const live = await liveWorkers(this.redisClient.client, this.config.queues.prefix);
      return live > 0 ? session.up({ live }) : session.down({ live, message: 'no worker has reported in the last 20 s' });
    } catch {
      return session.down('unknown: Redis is unreachable');
    }
  }
}

@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly checks: HealthChecks,
  ) {}

  /** Liveness: the process answers. */
  @Get('health/live')
  live() {
    return { status: 'ok' };
  }

  /** Readiness: this process can serve (PostgreSQL and Redis reachable). */
  @Get('health/ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.checks.postgres(), () => this.checks.redis()]);
  }

  /** Everything, workers included: what the on-call engineer looks at. */
  @Get('health')
  @HealthCheck()
  all() {
    return this.health.check([() => this.checks.postgres(), () => this.checks.redis(), () => this.checks.worker()]);
  }
}

@Controller()
export class MetricsController {
  @Get('metrics')
  @Header('Content-Type', register.contentType)
  metrics() {
    return register.metrics();
  }
}

/** `/health`, `/health/live`, `/health/ready` and Prometheus `/metrics` for api and worker alike. */
@Module({})
export class OpsModule {
  static forRoot(options: { jobCounts?: new (...args: never[]) => JobCountsSource } = {}): DynamicModule {
    return {
      module: OpsModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController, MetricsController],
      providers: [
        OpsRedis,
        HealthChecks,
        ...(options.jobCounts ? [{ provide: JobCountsSource, useClass: options.jobCounts }, JobsGauge] : []),
      ],
    };
  }
}

@Injectable()
export class JobsGauge implements OnModuleDestroy {
  private readonly gauge: Gauge<'queue' | 'state'>;

  constructor(source: JobCountsSource) {
    // The registry is per process and outlives the module: an API booted again in the same process
    // (tests) must count its own queues, not the closed ones of the first.
    register.removeSingleMetric('attache_jobs');
    this.gauge = new Gauge({
      name: 'attache_jobs',
      help: 'Jobs by queue and state',
      labelNames: ['queue', 'state'],
      async collect() {
        const counts = await source.jobCounts();
        this.reset();
        for (const [queue, states] of Object.entries(counts)) {
          for (const [state, value] of Object.entries(states)) this.set({ queue, state }, value);
        }
      },
    });
  }

  onModuleDestroy(): void {
    if (register.getSingleMetric('attache_jobs') === this.gauge) register.removeSingleMetric('attache_jobs');
  }
}

let defaultsCollected = false;
/** Process metrics (memory, event loop lag, GC), once per process. */
export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ prefix: 'attache_' });
}

import { Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Job, Worker } from 'bullmq';
import { AppConfig } from '@app/config';
import { ProviderUnavailableError } from '@app/domain';
import { CAPPED_JITTERED_BACKOFF, QueueName, cappedJitteredDelay, redisConnection } from '@app/queues';
import { runWithLogContext } from '@app/observability';

/** Longest wait between two retries of a provider call. */
const MAX_BACKOFF_MS = 15 * 60_000;

/**
 * One BullMQ worker for one queue. Subclasses say which queue and what each job does; this
 * class owns the connection, retries with capped jittered backoff, log context and shutdown.
 */
export abstract class QueueProcessor<T> implements OnApplicationBootstrap, OnApplicationShutdown {
  protected readonly logger = new Logger(this.constructor.name);
  private worker?: Worker<T>;

  abstract readonly queue: QueueName;
  protected abstract process(job: Job<T>): Promise<unknown>;

  constructor(protected readonly config: AppConfig) {}

  /** What the user is told when the last attempt fails; internal errors are logged, not shown. */
  protected finalReason(job: Job<T>, error: unknown): string {
    const attempts = job.attemptsMade + 1;
    if (error instanceof ProviderUnavailableError) return `The provider could not be reached after ${attempts} attempts (${error.message}).`;
    this.logger.error({ jobId: job.id, err: error }, `${this.queue} job failed on its last attempt`);
    return `Attache could not complete this after ${attempts} attempts because of an internal error (job ${job.id}).`;
  }

  /** True when this is the job's last attempt: the processor must settle the add-on itself. */
  protected isLastAttempt(job: Job<T>): boolean {
    return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  }

  onApplicationBootstrap(): void {
    const baseMs = this.config.provider.backoffMs;
    this.worker = new Worker<T>(
      this.queue,
      (job) => runWithLogContext({ jobId: job.id, queue: this.queue }, () => this.process(job)),
      {
        connection: redisConnection(this.config),
        prefix: this.config.queues.prefix,
        concurrency: this.config.queues.workerConcurrency,
        lockDuration: this.config.queues.lockDurationMs,
        stalledInterval: Math.max(1_000, Math.floor(this.config.queues.lockDurationMs / 2)),
        maxStalledCount: 10,
        settings: {
          backoffStrategy: (attemptsMade: number, type?: string) => {
            if (type !== CAPPED_JITTERED_BACKOFF) throw new Error(`unknown backoff ${type}`);
            return cappedJitteredDelay(attemptsMade, baseMs, MAX_BACKOFF_MS);
          },
        },
      },
    );
    this.worker.on('failed', (job, error) => {
      this.logger.warn({ jobId: job?.id, attemptsMade: job?.attemptsMade, err: error.message }, `${this.queue} job attempt failed`);
    });
    this.worker.on('error', (error) => this.logger.error({ err: error.message }, `${this.queue} worker error`));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
  }
}

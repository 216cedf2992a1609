import { Inject, Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { APP_CONFIG, AppConfig } from '@app/config';
import { PostgresBackupsUseCase } from '@app/domain';
import { POSTGRES_JOBS, PostgresJobPayload, QUEUES } from '@app/queues';
import { QueueProcessor } from './queue-processor';

/** Backups and restores of first-party PostgreSQL add-ons. Each settles its own failure. */
@Injectable()
export class PostgresProcessor extends QueueProcessor<PostgresJobPayload> {
  readonly queue = QUEUES.postgres;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly backups: PostgresBackupsUseCase,
  ) {
    super(config);
  }

  protected process(job: Job<PostgresJobPayload>): Promise<unknown> {
    switch (job.name) {
      case POSTGRES_JOBS.backup:
        return this.backups.runBackup(job.data.id);
      case POSTGRES_JOBS.restore:
        return this.backups.runRestore(job.data.id);
      default:
        throw new Error(`No handler for postgres job ${job.name}`);
    }
  }
}

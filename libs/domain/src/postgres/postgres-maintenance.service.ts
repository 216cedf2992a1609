import { Injectable } from '@nestjs/common';
import { PostgresBackupsUseCase } from './postgres-backups.use-case';
import { PostgresCredentialsUseCase } from './postgres-credentials.use-case';
import { PostgresStorageMonitor } from './postgres-storage.monitor';

/** The worker's periodic PostgreSQL upkeep, one run per interval. */
@Injectable()
export class PostgresMaintenance {
  constructor(
    private readonly storage: PostgresStorageMonitor,
    private readonly credentials: PostgresCredentialsUseCase,
    private readonly backups: PostgresBackupsUseCase,
  ) {}

  async run(): Promise<{ measured: number; restricted: number; lifted: number; credentialsRepaired: number; backupsQueued: number; requeued: number }> {
    const credentialsRepaired = await this.credentials.repairPending();
    const storage = await this.storage.run();
    const backupsQueued = await this.backups.enqueueScheduled();
    const requeued = await this.backups.requeueStalled();
    return { ...storage, credentialsRepaired, backupsQueued, requeued };
  }
}

import { Global, Module } from '@nestjs/common';
import { BackupFiles, PostgresClusterAdmin } from '@app/domain';
import { LocalBackupFiles } from './local-backup-files';
import { PgClusterAdmin } from './pg-cluster-admin';

/** The cluster administration and backup storage ports, for every app that runs PostgreSQL operations. */
@Global()
@Module({
  providers: [
    PgClusterAdmin,
    { provide: PostgresClusterAdmin, useExisting: PgClusterAdmin },
    LocalBackupFiles,
    { provide: BackupFiles, useExisting: LocalBackupFiles },
  ],
  exports: [PostgresClusterAdmin, BackupFiles],
})
export class PostgresAdapterModule {}

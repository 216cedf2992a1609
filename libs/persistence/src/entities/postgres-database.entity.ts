import { Column, Entity, PrimaryColumn } from 'typeorm';
import { PostgresDatabase, PostgresDatabaseState } from '@app/domain';
import { bigintAsNumber } from './column-transformers';

@Entity('postgres_databases')
export class PostgresDatabaseEntity implements PostgresDatabase {
  @PrimaryColumn('uuid', { name: 'addon_id' }) addonId!: string;
  @Column('uuid', { name: 'backend_id' }) backendId!: string;
  @Column('text', { name: 'database_name' }) databaseName!: string;
  @Column('text', { name: 'group_role' }) groupRole!: string;
  @Column('text') state!: PostgresDatabaseState;
  @Column('bigint', { name: 'storage_bytes', nullable: true, transformer: bigintAsNumber }) storageBytes!: number | null;
  @Column('timestamptz', { name: 'measured_at', nullable: true }) measuredAt!: Date | null;
  @Column('timestamptz', { name: 'over_limit_since', nullable: true }) overLimitSince!: Date | null;
  @Column('timestamptz', { name: 'restricted_at', nullable: true }) restrictedAt!: Date | null;
  @Column('smallint', { name: 'backup_hour_utc', nullable: true }) backupHourUtc!: number | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
  @Column('timestamptz', { name: 'dropped_at', nullable: true }) droppedAt!: Date | null;
}

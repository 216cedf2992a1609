import { Column, Entity, PrimaryColumn } from 'typeorm';
import { PostgresBackup, PostgresBackupKind, PostgresJobState } from '@app/domain';
import { bigintAsNumber } from './column-transformers';

@Entity('postgres_backups')
export class PostgresBackupEntity implements PostgresBackup {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'addon_id' }) addonId!: string;
  @Column('integer') number!: number;
  @Column('text') kind!: PostgresBackupKind;
  @Column('text') state!: PostgresJobState;
  // TypeORM hydrates `date` as 'YYYY-MM-DD' (from pg's local-midnight Date, read back in local time).
  @Column('date', { name: 'scheduled_for', nullable: true }) scheduledFor!: string | null;
  @Column('bigint', { name: 'size_bytes', nullable: true, transformer: bigintAsNumber }) sizeBytes!: number | null;
  @Column('text', { nullable: true }) error!: string | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'started_at', nullable: true }) startedAt!: Date | null;
  @Column('timestamptz', { name: 'finished_at', nullable: true }) finishedAt!: Date | null;
}

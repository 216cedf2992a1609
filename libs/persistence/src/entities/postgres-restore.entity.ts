import { Column, Entity, PrimaryColumn } from 'typeorm';
import { PostgresJobState, PostgresRestore } from '@app/domain';

@Entity('postgres_restores')
export class PostgresRestoreEntity implements PostgresRestore {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'addon_id' }) addonId!: string;
  @Column('uuid', { name: 'backup_id' }) backupId!: string;
  @Column('text') state!: PostgresJobState;
  @Column('text', { nullable: true }) error!: string | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'started_at', nullable: true }) startedAt!: Date | null;
  @Column('timestamptz', { name: 'finished_at', nullable: true }) finishedAt!: Date | null;
}

import { Column, Entity, PrimaryColumn } from 'typeorm';
import { RedisSpare, RedisSpareState } from '@app/domain';

@Entity('redis_spares')
export class RedisSpareEntity implements RedisSpare {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'host_id' }) hostId!: string;
  @Column('text') key!: string;
  @Column('integer') port!: number;
  @Column('text', { name: 'internal_password_sealed' }) internalPasswordSealed!: string;
  @Column('text') state!: RedisSpareState;
  @Column('uuid', { name: 'addon_id', nullable: true }) addonId!: string | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
}

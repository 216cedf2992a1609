import { Column, Entity, PrimaryColumn } from 'typeorm';
import { RedisInstance, RedisInstanceState, RedisMaxmemoryPolicy } from '@app/domain';
import { bigintAsNumber } from './column-transformers';

@Entity('redis_instances')
export class RedisInstanceEntity implements RedisInstance {
  @PrimaryColumn('uuid', { name: 'addon_id' }) addonId!: string;
  @Column('uuid', { name: 'host_id' }) hostId!: string;
  @Column('text') key!: string;
  @Column('text') state!: RedisInstanceState;
  // pg parses integer[] (unlike bigint[]) into numbers, so no transformer is needed.
  @Column('integer', { name: 'node_ports', array: true }) nodePorts!: number[];
  @Column('smallint', { name: 'primary_index' }) primaryIndex!: number;
  @Column('integer', { name: 'sentinel_port', nullable: true }) sentinelPort!: number | null;
  @Column('text', { name: 'password_sealed' }) passwordSealed!: string;
  @Column('text', { name: 'pending_password_sealed', nullable: true }) pendingPasswordSealed!: string | null;
  @Column('timestamptz', { name: 'pending_since', nullable: true }) pendingSince!: Date | null;
  @Column('text', { name: 'internal_password_sealed' }) internalPasswordSealed!: string;
  @Column('bigint', { name: 'maxmemory_bytes', transformer: bigintAsNumber }) maxmemoryBytes!: number;
  @Column('integer') maxclients!: number;
  @Column('boolean') persistence!: boolean;
  @Column('boolean', { name: 'high_availability' }) highAvailability!: boolean;
  @Column('text', { name: 'maxmemory_policy' }) maxmemoryPolicy!: RedisMaxmemoryPolicy;
  @Column('integer', { name: 'timeout_seconds' }) timeoutSeconds!: number;
  @Column('timestamptz', { name: 'last_failover_at', nullable: true }) lastFailoverAt!: Date | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
  @Column('timestamptz', { name: 'destroyed_at', nullable: true }) destroyedAt!: Date | null;
}

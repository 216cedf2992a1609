import { Column, Entity, PrimaryColumn } from 'typeorm';
import { RedisHost, RedisHostState } from '@app/domain';

@Entity('redis_hosts')
export class RedisHostEntity implements RedisHost {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text') driver!: RedisHost['driver'];
  @Column('text') address!: string;
  @Column('integer', { name: 'port_min' }) portMin!: number;
  @Column('integer', { name: 'port_max' }) portMax!: number;
  @Column('text', { name: 'data_dir' }) dataDir!: string;
  @Column('integer') capacity!: number;
  @Column('text') state!: RedisHostState;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
}

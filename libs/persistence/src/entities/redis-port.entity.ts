import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A port of a Redis host held by an add-on (a node or its sentinel); the key makes it one add-on's. */
@Entity('redis_ports')
export class RedisPortEntity {
  @PrimaryColumn('uuid', { name: 'host_id' }) hostId!: string;
  @PrimaryColumn('integer') port!: number;
  @Column('uuid', { name: 'addon_id' }) addonId!: string;
}

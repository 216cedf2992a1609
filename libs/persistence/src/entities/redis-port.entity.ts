import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A port of a Redis host held by an add-on (a node or its sentinel) or a spare; the key makes it one holder's. */
@Entity('redis_ports')
export class RedisPortEntity {
  @PrimaryColumn('uuid', { name: 'host_id' }) hostId!: string;
  @PrimaryColumn('integer') port!: number;
  @Column('uuid', { name: 'addon_id', nullable: true }) addonId!: string | null;
  @Column('uuid', { name: 'spare_id', nullable: true }) spareId!: string | null;
}

import { Column, Entity, PrimaryColumn } from 'typeorm';
import { Region } from '@app/domain';

@Entity('regions')
export class RegionEntity implements Region {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text') description!: string;
  @Column('text') country!: string;
  @Column('text') locale!: string;
  @Column('text', { name: 'provider_region' }) providerRegion!: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
}

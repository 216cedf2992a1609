import { Column, Entity, PrimaryColumn } from 'typeorm';
import { Release } from '@app/domain';

@Entity('releases')
export class ReleaseEntity implements Release {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'app_id' }) appId!: string;
  @Column('integer') version!: number;
  @Column('text') description!: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

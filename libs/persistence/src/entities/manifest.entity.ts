import { Column, Entity, PrimaryColumn } from 'typeorm';
import { Manifest } from '@app/domain';

@Entity('addon_manifests')
export class ManifestEntity implements Manifest {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'service_id' }) serviceId!: string;
  @Column('text', { name: 'contents_sealed' }) contentsSealed!: string;
  @Column('uuid', { name: 'pushed_by', nullable: true }) pushedBy!: string | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

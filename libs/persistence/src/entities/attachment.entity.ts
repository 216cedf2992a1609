import { Column, Entity, PrimaryColumn } from 'typeorm';
import { Attachment } from '@app/domain';

@Entity('addon_attachments')
export class AttachmentEntity implements Attachment {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'addon_id' }) addonId!: string;
  @Column('uuid', { name: 'app_id' }) appId!: string;
  @Column('text') name!: string;
  @Column('text', { nullable: true }) namespace!: string | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
}

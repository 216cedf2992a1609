import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('collaborators')
export class CollaboratorEntity {
  @PrimaryColumn('uuid', { name: 'app_id' }) appId!: string;
  @PrimaryColumn('uuid', { name: 'account_id' }) accountId!: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

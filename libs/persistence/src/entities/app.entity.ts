import { Column, Entity, PrimaryColumn } from 'typeorm';
import { App } from '@app/domain';

@Entity('apps')
export class AppEntity implements App {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('uuid', { name: 'owner_account_id' }) ownerAccountId!: string;
  @Column('uuid', { name: 'owner_team_id', nullable: true }) ownerTeamId!: string | null;
  @Column('uuid', { name: 'region_id' }) regionId!: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
  @Column('timestamptz', { name: 'deleted_at', nullable: true }) deletedAt!: Date | null;
}

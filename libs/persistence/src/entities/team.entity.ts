import { Column, Entity, PrimaryColumn } from 'typeorm';
import { Team, TeamMember, TeamRole } from '@app/domain';

@Entity('teams')
export class TeamEntity implements Team {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
}

@Entity('team_members')
export class TeamMemberEntity implements TeamMember {
  @PrimaryColumn('uuid', { name: 'team_id' }) teamId!: string;
  @PrimaryColumn('uuid', { name: 'account_id' }) accountId!: string;
  @Column('text') role!: TeamRole;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

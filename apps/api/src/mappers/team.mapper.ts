import { Account, Team, TeamMember, TeamRole } from '@app/domain';

export const toTeamResponse = (team: Team, role: TeamRole) => ({
  id: team.id,
  name: team.name,
  role,
  type: 'team',
  default: false,
  membership_limit: null,
  provisioned_licenses: false,
  created_at: team.createdAt.toISOString(),
  updated_at: team.updatedAt.toISOString(),
});

export const toTeamMemberResponse = ({ member, account }: { member: TeamMember; account: Account }) => ({
  id: account.id,
  email: account.email,
  role: member.role,
  user: { id: account.id, email: account.email, name: account.name },
  federated: false,
  two_factor_authentication: false,
  created_at: member.createdAt.toISOString(),
  updated_at: member.createdAt.toISOString(),
});

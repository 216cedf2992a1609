import { Account } from '../shared/models';
import { Team, TeamMember, TeamRole } from './teams.models';

export interface TeamRepository {
  /** False when the name is taken. */
  createIfNameFree(team: Team): Promise<boolean>;
  findByIdOrName(idOrName: string): Promise<Team | null>;
  findByIds(ids: string[]): Promise<Team[]>;
  /** The teams the account is a member of, with its role in each. */
  listForAccount(accountId: string): Promise<{ team: Team; role: TeamRole }[]>;
  roleOf(teamId: string, accountId: string): Promise<TeamRole | null>;
  members(teamId: string): Promise<{ member: TeamMember; account: Account }[]>;
  /** Adds the account or changes its role. */
  upsertMember(member: TeamMember): Promise<void>;
  removeMember(teamId: string, accountId: string): Promise<boolean>;
  /** Locks the team row for the rest of the transaction (membership changes). */
  lock(teamId: string): Promise<void>;
  countAdmins(teamId: string): Promise<number>;
}

import { Injectable } from '@nestjs/common';
import { Clock, ConflictError, ForbiddenError, InvalidInputError, NotFoundError, newId } from '@app/common';
import { Account } from '../shared/models';
import { Store } from '../shared/store.port';
import { Team, TeamMember, TeamRole } from './teams.models';

const TEAM_NAME = /^[a-z][a-z0-9-]{1,28}[a-z0-9]$/;
const ROLES: TeamRole[] = ['admin', 'member'];

/** Teams and their members. The account that creates a team is its first admin; a team always keeps one. */
@Injectable()
export class TeamsService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async create(accountId: string, name: string): Promise<{ team: Team; role: TeamRole }> {
    if (typeof name !== 'string' || !TEAM_NAME.test(name)) {
      throw new InvalidInputError('A team name starts with a letter, ends with a letter or digit, and has only lowercase letters, digits and dashes (3 to 30 characters).');
    }
    return this.store.transaction(async (tx) => {
      const now = this.clock.now();
      const team: Team = { id: newId(), name, createdAt: now, updatedAt: now };
      if (!(await tx.teams.createIfNameFree(team))) throw new ConflictError('name_taken', `Team name ${name} is already taken.`);
      await tx.teams.upsertMember({ teamId: team.id, accountId, role: 'admin', createdAt: now });
      return { team, role: 'admin' as const };
    });
  }

  list(accountId: string): Promise<{ team: Team; role: TeamRole }[]> {
    return this.store.teams.listForAccount(accountId);
  }

  /** For members only. */
  async get(accountId: string, teamRef: string, store: Store = this.store): Promise<{ team: Team; role: TeamRole }> {
    const team = await store.teams.findByIdOrName(teamRef);
    if (!team) throw new NotFoundError('team');
    const role = await store.teams.roleOf(team.id, accountId);
    if (!role) throw new ForbiddenError(`You are not a member of the team ${team.name}.`);
    return { team, role };
  }

  async members(accountId: string, teamRef: string): Promise<{ team: Team; members: { member: TeamMember; account: Account }[] }> {
    const { team } = await this.get(accountId, teamRef);
    return { team, members: await this.store.teams.members(team.id) };
  }

  /** Adds an account by email, or changes its role (admins only). */
  async setMember(accountId: string, teamRef: string, input: { email: string; role: string }): Promise<{ member: TeamMember; account: Account }> {
    if (!ROLES.includes(input.role as TeamRole)) throw new InvalidInputError(`role must be one of ${ROLES.join(', ')}.`);
    const role = input.role as TeamRole;
    return this.store.transaction(async (tx) => {
      // Locked before the caller's role is read: two admins changing roles at once see each other.
      await this.lockTeam(tx, teamRef);
      const { team } = await this.admin(tx, accountId, teamRef);
      const account = await tx.accounts.findByEmail(String(input.email ?? '').trim().toLowerCase());
      if (!account) throw new NotFoundError('account', `No account with email ${input.email}.`);
      const current = await tx.teams.roleOf(team.id, account.id);
      if (current === 'admin' && role !== 'admin' && (await tx.teams.countAdmins(team.id)) <= 1) {
        throw new InvalidInputError(`${account.email} is the only admin of ${team.name}; make someone else an admin first.`, 'last_admin');
      }
      const member: TeamMember = { teamId: team.id, accountId: account.id, role, createdAt: this.clock.now() };
      await tx.teams.upsertMember(member);
      return { member, account };
    });
  }

  /** Admins remove anyone; a member may leave. The last admin stays. */
  async removeMember(accountId: string, teamRef: string, memberRef: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      await this.lockTeam(tx, teamRef);
      const { team, role } = await this.get(accountId, teamRef, tx);
      const account = (await tx.accounts.findByEmail(memberRef.trim().toLowerCase())) ?? (await tx.accounts.findById(memberRef));
      const memberRole = account ? await tx.teams.roleOf(team.id, account.id) : null;
      if (!account || !memberRole) throw new NotFoundError('team_member');
      if (role !== 'admin' && account.id !== accountId) throw new ForbiddenError(`Only an admin of ${team.name} can remove its members.`);
      if (memberRole === 'admin' && (await tx.teams.countAdmins(team.id)) <= 1) {
        throw new InvalidInputError(`${account.email} is the only admin of ${team.name}; make someone else an admin first.`, 'last_admin');
      }
      await tx.teams.removeMember(team.id, account.id);
    });
  }

  private async lockTeam(tx: Store, teamRef: string): Promise<void> {
    const team = await tx.teams.findByIdOrName(teamRef);
    if (team) await tx.teams.lock(team.id);
  }

  private async admin(store: Store, accountId: string, teamRef: string): Promise<{ team: Team }> {
    const { team, role } = await this.get(accountId, teamRef, store);
    if (role !== 'admin') throw new ForbiddenError(`Only an admin of ${team.name} can do this.`);
    return { team };
  }
}

import { EntityManager } from 'typeorm';
import { Account, Team, TeamMember, TeamRepository, TeamRole } from '@app/domain';
import { AccountEntity, TeamEntity, TeamMemberEntity } from '../entities';
import { isUuid, storable } from './query-helpers';
import { query } from './sql';

export class TypeOrmTeams implements TeamRepository {
  constructor(private readonly m: EntityManager) {}

  async createIfNameFree(team: Team): Promise<boolean> {
    const rows = await query<{ id: string }[]>(
      this.m,
      `INSERT INTO teams (id, name, created_at, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING RETURNING id`,
      [team.id, team.name, team.createdAt, team.updatedAt],
    );
    return rows.length > 0;
  }

  findByIdOrName(idOrName: string): Promise<Team | null> {
    if (!storable(idOrName)) return Promise.resolve(null);
    return this.m.findOneBy(TeamEntity, isUuid(idOrName) ? { id: idOrName } : { name: idOrName });
  }

  findByIds(ids: string[]): Promise<Team[]> {
    if (!ids.length) return Promise.resolve([]);
    return this.m.createQueryBuilder(TeamEntity, 't').where('t.id = ANY(:ids)', { ids }).getMany();
  }

  async listForAccount(accountId: string): Promise<{ team: Team; role: TeamRole }[]> {
    const rows = await query<(Team & { role: TeamRole })[]>(
      this.m,
      `SELECT t.id, t.name, t.created_at AS "createdAt", t.updated_at AS "updatedAt", m.role
         FROM teams t JOIN team_members m ON m.team_id = t.id
        WHERE m.account_id = $1 ORDER BY t.name`,
      [accountId],
    );
    return rows.map(({ role, ...team }) => ({ team, role }));
  }

  async roleOf(teamId: string, accountId: string): Promise<TeamRole | null> {
    if (!isUuid(teamId) || !isUuid(accountId)) return null;
    return (await this.m.findOneBy(TeamMemberEntity, { teamId, accountId }))?.role ?? null;
  }

  async members(teamId: string): Promise<{ member: TeamMember; account: Account }[]> {
    const members = await this.m.find(TeamMemberEntity, { where: { teamId }, order: { createdAt: 'ASC' } });
    const accounts = members.length
      ? await this.m.createQueryBuilder(AccountEntity, 'a').where('a.id = ANY(:ids)', { ids: members.map((m) => m.accountId) }).getMany()
      : [];
    const byId = new Map(accounts.map((a) => [a.id, a]));
    return members.map((member) => ({ member, account: byId.get(member.accountId)! }));
  }

  async upsertMember(member: TeamMember): Promise<void> {
    await query(
      this.m,
      `INSERT INTO team_members (team_id, account_id, role, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (team_id, account_id) DO UPDATE SET role = EXCLUDED.role`,
      [member.teamId, member.accountId, member.role, member.createdAt],
    );
  }

  async removeMember(teamId: string, accountId: string): Promise<boolean> {
    return ((await this.m.delete(TeamMemberEntity, { teamId, accountId })).affected ?? 0) > 0;
  }

  async lock(teamId: string): Promise<void> {
    await query(this.m, 'SELECT 1 FROM teams WHERE id = $1 FOR UPDATE', [teamId]);
  }

  async countAdmins(teamId: string): Promise<number> {
    return this.m.countBy(TeamMemberEntity, { teamId, role: 'admin' });
  }
}

/** A team owns apps and receives their bills; its members use its apps. */
export interface Team {
  id: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

/** Admins manage members, transfer apps and read bills; members use the team's apps. */
export type TeamRole = 'admin' | 'member';

export interface TeamMember {
  teamId: string;
  accountId: string;
  role: TeamRole;
  createdAt: Date;
}

/** Who pays for an app: an account (personal apps) or a team. */
export interface BillingEntity {
  kind: 'account' | 'team';
  id: string;
}

export const sameEntity = (a: BillingEntity, b: BillingEntity): boolean => a.kind === b.kind && a.id === b.id;

/** The app's billing entity now. */
export const ownerOf = (app: { ownerAccountId: string; ownerTeamId: string | null }): BillingEntity =>
  app.ownerTeamId ? { kind: 'team', id: app.ownerTeamId } : { kind: 'account', id: app.ownerAccountId };

export const byNameOrId = { id: 'x.id', name: 'x.name' };
export const isUuid = (value: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
/** PostgreSQL text cannot hold NUL: a lookup by such a (client-supplied) name finds nothing instead of failing. */
export const storable = (value: string) => !value.includes('\u0000');
export const MAX_INTEGER = 2_147_483_647;


/**
 * SQL: the account whose id is the parameter `param` may use the app aliased `app`: it owns it (a
 * personal app), collaborates on it, or is a member of the team that owns it.
 */
export const appMemberSql = (app: string, param: string): string =>
  `((${app}.owner_team_id IS NULL AND ${app}.owner_account_id = ${param})
    OR EXISTS (SELECT 1 FROM collaborators c WHERE c.app_id = ${app}.id AND c.account_id = ${param})
    OR EXISTS (SELECT 1 FROM team_members tm WHERE tm.team_id = ${app}.owner_team_id AND tm.account_id = ${param}))`;

export const byNameOrId = { id: 'x.id', name: 'x.name' };
export const isUuid = (value: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
/** PostgreSQL text cannot hold NUL: a lookup by such a (client-supplied) name finds nothing instead of failing. */
export const storable = (value: string) => !value.includes('\u0000');
export const MAX_INTEGER = 2_147_483_647;


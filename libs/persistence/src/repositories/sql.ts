import { createHash } from 'node:crypto';
import { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';

/**
 * Helpers for the hand-written SQL of the hot paths, where TypeORM's query building costs more
 * than the query. Column names and types come from the entities' metadata, so the entities stay
 * the one description of each table; the helpers only spare building the same text per call.
 */

/** A statement and the values of its parameters. */
export interface Statement {
  text: string;
  values: unknown[];
}

const statementNames = new Map<string, string>();

/**
 * `text` as a named prepared statement, as pg takes it: each connection parses and plans it once,
 * not on every call (parsing and planning were a large part of PostgreSQL's work per provision).
 * Only for statements that name their columns: a prepared `SELECT *` fails once a migration adds one.
 */
export function prepared(text: string): { name: string; text: string } {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `attache_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    statementNames.set(text, name);
  }
  return { name, text };
}

/** Runs `text` as a prepared statement (see `prepared`) on the manager's connection. */
export function query<T>(m: EntityManager, text: string, values: unknown[]): Promise<T> {
  // TypeORM hands the query to pg untouched, and pg takes a prepared statement as { name, text }.
  return m.query(prepared(text) as unknown as string, values);
}

const selectLists = new Map<string, string>();

/**
 * `alias.column AS "prefix.property", …` for every column of `entity`: the rows come back in the
 * domain's shape (pass them through `unprefixed` when a query joins several tables).
 */
export function selectList(m: EntityManager, entity: EntityTarget<ObjectLiteral>, alias: string, prefix = ''): string {
  const metadata = m.connection.getMetadata(entity);
  const key = `${metadata.tableName}|${alias}|${prefix}`;
  let list = selectLists.get(key);
  if (list === undefined) {
    list = metadata.columns.map((c) => `${alias}.${c.databaseName} AS "${prefix}${c.propertyName}"`).join(', ');
    selectLists.set(key, list);
  }
  return list;
}

/** The fields of `row` whose names start with `prefix`, without it. */
export function unprefixed<T>(row: Record<string, unknown>, prefix: string): T {
  const result: Record<string, unknown> = {};
  for (const key in row) if (key.startsWith(prefix)) result[key.slice(prefix.length)] = row[key];
  return result as T;
}

/** `column = $n, …` for the defined fields of `patch`, with their values from `$firstParam` on. */
export function setClause(
  m: EntityManager,
  entity: EntityTarget<ObjectLiteral>,
  patch: object,
  firstParam: number,
): { assignments: string; values: unknown[] } {
  const metadata = m.connection.getMetadata(entity);
  const assignments: string[] = [];
  const values: unknown[] = [];
  for (const [property, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const column = metadata.findColumnWithPropertyName(property);
    if (!column) throw new Error(`${metadata.tableName} has no column for ${property}`);
    values.push(persistable(column.type, value));
    assignments.push(`${column.databaseName} = $${firstParam + values.length - 1}`);
  }
  return { assignments: assignments.join(', '), values };
}

/** `INSERT INTO table (columns) VALUES (…)` for a record in the domain's shape. */
export function insertRow(m: EntityManager, entity: EntityTarget<ObjectLiteral>, record: object): Statement {
  const metadata = m.connection.getMetadata(entity);
  const columns = metadata.columns.filter((c) => !c.isGenerated);
  const values = columns.map((column) => persistable(column.type, (record as Record<string, unknown>)[column.propertyName]));
  const names = columns.map((c) => c.databaseName).join(', ');
  return { text: `INSERT INTO ${metadata.tableName} (${names}) VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')})`, values };
}

/** pg would send an array as a PostgreSQL array; jsonb wants JSON, as TypeORM sends it. */
function persistable(type: unknown, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  return type === 'jsonb' ? JSON.stringify(value) : value;
}

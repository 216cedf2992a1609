import { escapeIdentifier as ident } from 'pg';
import { DataSource } from 'typeorm';
import { SecretBox } from '@app/common';

/** A column holding values sealed by the SecretBox: by convention every text column named `*_sealed`. */
export interface SealedColumn {
  table: string;
  column: string;
  /** The table's primary key columns, which address a row. */
  key: string[];
}

/** How many of a column's values each key sealed (by key id). */
export interface SealedColumnKeys extends SealedColumn {
  byKey: Record<string, number>;
}

export interface ResealReport extends SealedColumn {
  resealed: number;
  /** Rows whose value could not be opened (sealed with a key this process does not have), left as they were. */
  failed: { key: Record<string, unknown>; error: string }[];
}

const BATCH = 500;

/**
 * Re-seals values sealed with an older key under the current one, so a rotated key can be dropped
 * from ATTACHE_PREVIOUS_ENCRYPTION_KEYS once nothing uses it. Safe beside running processes: a row
 * is rewritten only if its value is still the one read (a concurrent write seals with the current
 * key anyway), and only the value changes (not `updated_at`: nothing a user sees changed).
 */
export class SealedColumns {
  constructor(
    private readonly dataSource: DataSource,
    private readonly box: SecretBox,
  ) {}

  /** Every sealed column of the schema, found by name, so a new one is never missed. */
  async list(): Promise<SealedColumn[]> {
    const rows: { table: string; column: string; key: string[] | null }[] = await this.dataSource.query(
      `SELECT c.table_name AS "table", c.column_name AS "column",
              (SELECT array_agg(a.attname::text ORDER BY k.ordinality)
                 FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ordinality)
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                WHERE i.indrelid = format('%I.%I', c.table_schema, c.table_name)::regclass AND i.indisprimary) AS key
         FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
          AND c.column_name LIKE '%\\_sealed' AND c.data_type = 'text'
        ORDER BY 1, 2`,
    );
    return rows.map(({ table, column, key }) => {
      if (!key?.length) throw new Error(`${table} has no primary key, so its ${column} values cannot be re-sealed row by row`);
      return { table, column, key };
    });
  }

  /** Per sealed column, how many values each key sealed. */
  async keys(): Promise<SealedColumnKeys[]> {
    const result: SealedColumnKeys[] = [];
    for (const column of await this.list()) {
      const rows: { keyId: string; n: number }[] = await this.dataSource.query(
        `SELECT split_part(${ident(column.column)}, ':', 2) AS "keyId", count(*)::int AS n
           FROM ${ident(column.table)} WHERE ${ident(column.column)} IS NOT NULL GROUP BY 1 ORDER BY 1`,
      );
      result.push({ ...column, byKey: Object.fromEntries(rows.map((r) => [r.keyId, r.n])) });
    }
    return result;
  }

  /** Re-seals every value not sealed with the current key, column by column, in batches. */
  async resealStale(): Promise<ResealReport[]> {
    const reports: ResealReport[] = [];
    for (const column of await this.list()) reports.push(await this.resealColumn(column));
    return reports;
  }

  private async resealColumn(column: SealedColumn): Promise<ResealReport> {
    const report: ResealReport = { ...column, resealed: 0, failed: [] };
    const keys = column.key.map(ident).join(', ');
    const value = ident(column.column);
    const table = ident(column.table);
    // Keyset pagination over the primary key: a value that cannot be opened is passed, not read again.
    let after: unknown[] | null = null;
    for (;;) {
      const params: unknown[] = [this.box.currentKeyId, BATCH];
      const afterClause = after ? `AND (${keys}) > (${after.map((v) => `$${params.push(v)}`).join(', ')})` : '';
      const rows: Record<string, unknown>[] = await this.dataSource.query(
        `SELECT ${keys}, ${value} AS "sealed" FROM ${table}
          WHERE ${value} IS NOT NULL AND split_part(${value}, ':', 2) <> $1 ${afterClause}
          ORDER BY ${keys} LIMIT $2`,
        params,
      );
      if (rows.length === 0) return report;
      after = column.key.map((k) => rows[rows.length - 1][k]);
      const updates: { key: unknown[]; from: string; to: string }[] = [];
      for (const row of rows) {
        const key = column.key.map((k) => row[k]);
        try {
          updates.push({ key, from: row.sealed as string, to: this.box.seal(this.box.open(row.sealed as string)) });
        } catch (error) {
          report.failed.push({ key: Object.fromEntries(column.key.map((k) => [k, row[k]])), error: (error as Error).message });
        }
      }
      await this.dataSource.transaction(async (m) => {
        for (const update of updates) {
          const where = column.key.map((k, i) => `${ident(k)} = $${i + 3}`).join(' AND ');
          const [, changed] = (await m.query(`UPDATE ${table} SET ${value} = $1 WHERE ${value} = $2 AND ${where}`, [update.to, update.from, ...update.key])) as [unknown, number];
          report.resealed += changed;
        }
      });
      if (rows.length < BATCH) return report;
    }
  }
}

import { Injectable } from '@nestjs/common';
import { Client, escapeIdentifier as ident } from 'pg';
import { BackendConnection, ProviderRefusedError, ProviderUnavailableError } from '@app/domain';

/** Waiting for one terminated backend to exit (pg_terminate_backend's timeout). */
const TERMINATE_WAIT_MS = 5_000;
const SESSIONS_GONE_ATTEMPTS = 30;
const SESSIONS_POLL_MS = 100;
/**
 * A session that passed the connection-limit check just before the limit fell to 0 can show in
 * pg_stat_activity a moment later: the sessions are ended a second time after this pause.
 */
const STRAGGLER_PAUSE_MS = 300;

/**
 * The database's write counters: rows inserted, updated and deleted per relation (catalogs
 * included, so DDL and TRUNCATE count) and every sequence's position. Left out: the statistics
 * catalogs, which autoanalyze rewrites without the tenant writing anything, and the catalogs shared
 * by every database of the cluster (roles, databases), which Attache itself changes meanwhile.
 */
const WRITE_MARK_SQL = `
  WITH statistics AS (
    SELECT oid FROM pg_class WHERE oid IN ('pg_catalog.pg_statistic'::regclass, 'pg_catalog.pg_statistic_ext_data'::regclass)
    UNION SELECT reltoastrelid FROM pg_class WHERE oid IN ('pg_catalog.pg_statistic'::regclass, 'pg_catalog.pg_statistic_ext_data'::regclass)
  )
  SELECT current_setting('track_counts') AS tracking,
    (SELECT md5(coalesce(string_agg(s.relid::text || ':' || s.n_tup_ins || ':' || s.n_tup_upd || ':' || s.n_tup_del, ',' ORDER BY s.relid), ''))
       FROM pg_stat_all_tables s JOIN pg_class c ON c.oid = s.relid
       WHERE NOT c.relisshared AND s.relid NOT IN (SELECT oid FROM statistics)) AS tables,
    (SELECT md5(coalesce(string_agg(c.oid::text || ':' || coalesce(pg_sequence_last_value(c.oid)::text, '-'), ',' ORDER BY c.oid), ''))
       FROM pg_class c WHERE c.relkind = 'S') AS sequences`;

/** Where a window is sealed: the database's connection limit (the default), or the tenant's login role's. */
export interface WindowSeal {
  role?: string;
}

/**
 * A shared-plan database's window while its data moves to a dedicated cluster. Read-only is only a
 * default there: a session may `SET default_transaction_read_only = off` and write. So the window
 * is checked instead of trusted: `open` and `seal` each end every session of the database and read
 * its write counters. A backend flushes its counters when it exits, so with no session left the
 * counters hold every write made before; when the two marks differ, something was written during
 * the copy. `seal` also closes the database to the tenant (connection limit 0; Attache's superuser
 * is exempt and the tenant cannot change it, the database being the superuser's): nothing can be
 * written after the last check, until the database is released or dropped.
 *
 * The same window serves a dedicated cluster's database moving back to a shared plan. There the
 * tenant owns its database and could lift the database's limit, so the window is sealed on the
 * tenant's login role instead (`role`): a role cannot change its own connection limit.
 */
@Injectable()
export class PgSharedReadOnly {
  /** New transactions default to read-only, the open sessions end; the write mark the copy starts from. */
  async open(backend: BackendConnection, database: string): Promise<string> {
    await this.onMaintenance(backend, async (client) => {
      await client.query(`ALTER DATABASE ${ident(database)} SET default_transaction_read_only = on`);
      // Sessions may connect again at once (read-only by default now): only these must be gone.
      await this.terminate(client, database);
    });
    return this.writeMark(backend, database);
  }

  /** The tenant can no longer connect and no session is left; the write mark to compare with `open`'s. */
  async seal(backend: BackendConnection, database: string, seal: WindowSeal = {}): Promise<string> {
    await this.onMaintenance(backend, async (client) => {
      await client.query(seal.role ? `ALTER ROLE ${ident(seal.role)} CONNECTION LIMIT 0` : `ALTER DATABASE ${ident(database)} CONNECTION LIMIT 0`);
      await this.endSessions(client, database);
      await new Promise((resolve) => setTimeout(resolve, STRAGGLER_PAUSE_MS));
      await this.endSessions(client, database);
    });
    return this.writeMark(backend, database);
  }

  /** Writable and open again, with the plan's connection limit. Idempotent. */
  async release(backend: BackendConnection, database: string, connectionLimit: number, seal: WindowSeal = {}): Promise<void> {
    await this.onMaintenance(backend, async (client) => {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (!rowCount) return;
      await client.query(`ALTER DATABASE ${ident(database)} RESET default_transaction_read_only`);
      const limit = Math.trunc(connectionLimit);
      await client.query(seal.role ? `ALTER ROLE ${ident(seal.role)} CONNECTION LIMIT ${limit}` : `ALTER DATABASE ${ident(database)} CONNECTION LIMIT ${limit}`);
    });
  }

  /** The database's size on disk and the tenant's sessions open in it now (Attache's own left out). */
  async usage(backend: BackendConnection, database: string): Promise<{ bytes: number; sessions: number }> {
    return this.onMaintenance(backend, async (client) => {
      const { rows } = await client.query<{ bytes: string; sessions: string }>(
        `SELECT pg_database_size($1) AS bytes,
           (SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND usename <> current_user) AS sessions`,
        [database],
      );
      return { bytes: Number(rows[0].bytes), sessions: Number(rows[0].sessions) };
    });
  }

  /** Ends the database's client sessions but this one, waiting for each to exit (and so flush its counters). */
  private async terminate(client: Client, database: string): Promise<number> {
    const { rows } = await client.query<{ left: string }>(
      `SELECT count(*) FILTER (WHERE NOT pg_terminate_backend(pid, $2)) AS left
       FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      [database, TERMINATE_WAIT_MS],
    );
    return Number(rows[0].left);
  }

  private async endSessions(client: Client, database: string): Promise<void> {
    for (let attempt = 0; attempt < SESSIONS_GONE_ATTEMPTS; attempt++) {
      await this.terminate(client, database);
      const { rows } = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
        [database],
      );
      if (Number(rows[0].n) === 0) return;
      await new Promise((resolve) => setTimeout(resolve, SESSIONS_POLL_MS));
    }
    throw new ProviderUnavailableError(`The sessions of ${database} did not end.`);
  }

  private async writeMark(backend: BackendConnection, database: string): Promise<string> {
    return this.connect(backend, database, async (client) => {
      await client.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await client.query<{ tracking: string; tables: string; sequences: string }>(WRITE_MARK_SQL);
      if (rows[0].tracking !== 'on') {
        throw new ProviderRefusedError(`The shared cluster ${backend.name} does not count writes (track_counts is off), so a move off it cannot be checked; moves from it are not available.`);
      }
      return `${rows[0].tables}/${rows[0].sequences}`;
    });
  }

  private onMaintenance<T>(backend: BackendConnection, work: (client: Client) => Promise<T>): Promise<T> {
    return this.connect(backend, backend.maintenanceDatabase, work);
  }

  private async connect<T>(backend: BackendConnection, database: string, work: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({
      host: backend.host,
      port: backend.port,
      user: backend.user,
      password: backend.password,
      database,
      connectionTimeoutMillis: 10_000,
      application_name: 'attache-admin',
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      throw new ProviderUnavailableError(`PostgreSQL backend ${backend.name} could not be reached (${(error as Error).message}).`);
    }
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

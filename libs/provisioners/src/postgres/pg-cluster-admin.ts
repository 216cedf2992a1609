import { execFile } from 'node:child_process';
import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Client, Pool, escapeIdentifier as ident, escapeLiteral as literal } from 'pg';
import { BackendConnection, PostgresClusterAdmin, TenantNames } from '@app/domain';

const execFileAsync = promisify(execFile);
const pbkdf2Async = promisify(pbkdf2);

/** Waiting for a terminated backend to exit (pg_terminate_backend's timeout, PG 14+). */
const TERMINATE_WAIT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 5_000;
const SCRAM_ITERATIONS = 4096;

/** Per-role defaults; temp_file_limit is superuser-only, so the tenant cannot raise it. */
const LOGIN_ROLE_SETTINGS: [string, string][] = [
  ['idle_in_transaction_session_timeout', '5min'],
  ['temp_file_limit', '1GB'],
];

/** Creating a large object needs no privilege, so a restricted tenant could grow its database with them. */
const LARGE_OBJECT_CREATORS = ['lo_create(oid)', 'lo_creat(integer)', 'lo_from_bytea(oid, bytea)'];

/** The throwaway login role a restore runs as (named after the tenant, so deprovision sweeps it). */
const restoreRole = (tenant: TenantNames) => `${tenant.ownerRole}_restore`;
/** Owns the tenant's SECURITY DEFINER functions while it is restricted. */
const quarantineRole = (tenant: TenantNames) => `${tenant.ownerRole}_quarantine`;

/** Schemas that hold the tenant's objects: all but the catalogs, TOAST and temporary ones. */
const TENANT_SCHEMAS_SQL = `
  SELECT nspname FROM pg_namespace
  WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%'
  ORDER BY nspname`;

/**
 * The role's verifier, computed here so the plaintext never reaches the server (whose log may
 * echo statements). Printable ASCII only: SASLprep leaves it unchanged, so every client
 * (libpq, node-postgres) derives the same key from it.
 */
async function scramVerifier(password: string): Promise<string> {
  if (!/^[\x20-\x7e]+$/.test(password)) throw new Error('Role passwords must be non-empty printable ASCII');
  const salt = randomBytes(16);
  const salted = await pbkdf2Async(password, salt, SCRAM_ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** Server errors can quote the statement; rebuild the error from its code and scrubbed message only. */
function scrubbed(error: unknown, action: string, secrets: string[]): Error {
  let message = error instanceof Error ? error.message : String(error);
  for (const secret of secrets) message = message.split(secret).join('[redacted]');
  const code = sqlState(error);
  return Object.assign(new Error(`${action} failed: ${message}`), code ? { code } : {});
}

/**
 * PostgresClusterAdmin on real clusters. Tenant layout: NOLOGIN group role `g_x` owns database
 * `d_x`; login role `u_x` inherits it. Restriction moves everything `u_x` owns to `g_x` and
 * swaps the membership for explicit read/delete grants, so the tenant has nothing to re-grant.
 */
@Injectable()
export class PgClusterAdmin extends PostgresClusterAdmin implements OnModuleDestroy {
  private readonly logger = new Logger(PgClusterAdmin.name);
  private readonly pools = new Map<string, { fingerprint: string; pool: Pool }>();

  async onModuleDestroy(): Promise<void> {
    const pools = [...this.pools.values()].map(({ pool }) => pool.end());
    this.pools.clear();
    await Promise.allSettled(pools);
  }

  async harden(backend: BackendConnection): Promise<void> {
    await this.exec(backend, 'REVOKE ALL ON DATABASE postgres FROM PUBLIC');
    await this.exec(backend, 'REVOKE ALL ON DATABASE template1 FROM PUBLIC');
    if (!['postgres', 'template1'].includes(backend.maintenanceDatabase)) {
      await this.exec(backend, `REVOKE ALL ON DATABASE ${ident(backend.maintenanceDatabase)} FROM PUBLIC`);
    }
  }

  passwordVerifier(password: string): Promise<string> {
    return scramVerifier(password);
  }

  async createTenant(
    backend: BackendConnection,
    tenant: TenantNames & { ownerPassword: string; ownerVerifier?: Promise<string>; connectionLimit: number },
  ): Promise<void> {
    const { database, groupRole, ownerRole } = tenant;
    tenant.ownerVerifier?.catch(() => undefined); // awaited later, after other statements
    const limit = Math.trunc(tenant.connectionLimit);
    if (!(await this.roleExists(backend, groupRole))) {
      await this.ignoring(['42710', '23505'], () =>
        this.exec(backend, `CREATE ROLE ${ident(groupRole)} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`),
      );
    }
    await this.ensureLoginRole(backend, ownerRole, tenant.ownerPassword, tenant.ownerVerifier);
    if (!(await this.isMember(backend, ownerRole, groupRole))) {
      await this.exec(backend, `GRANT ${ident(groupRole)} TO ${ident(ownerRole)}`);
    }
    // The database's owner could lift its connection limit, change its settings or drop it: Attache's
    // superuser owns it, and the tenant's group gets the rights it needs by grant.
    if (await this.databaseExists(backend, database)) {
      await this.exec(backend, `ALTER DATABASE ${ident(database)} OWNER TO ${ident(backend.user)}`);
      await this.exec(backend, `ALTER DATABASE ${ident(database)} CONNECTION LIMIT ${limit}`);
    } else {
      await this.ignoring(['42P04', '23505'], () =>
        this.exec(backend, `CREATE DATABASE ${ident(database)} OWNER ${ident(backend.user)} CONNECTION LIMIT ${limit}`),
      );
    }
    // CREATE DATABASE gives PUBLIC CONNECT and TEMP.
    await this.exec(backend, `REVOKE ALL ON DATABASE ${ident(database)} FROM PUBLIC`);
    await this.exec(backend, `GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ${ident(database)} TO ${ident(groupRole)}`);
    await this.inDatabase(backend, database, async (client) => {
      const { rowCount } = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'public'`);
      if (rowCount) {
        await client.query(`ALTER SCHEMA public OWNER TO ${ident(groupRole)}`);
        await client.query('REVOKE ALL ON SCHEMA public FROM PUBLIC');
      }
    });
  }

  async setConnectionLimit(backend: BackendConnection, database: string, limit: number): Promise<void> {
    const n = Math.trunc(limit);
    await this.exec(backend, `ALTER DATABASE ${ident(database)} CONNECTION LIMIT ${n}`);
    if (n < 0) return;
    // A lower limit only refuses new sessions; end the newest ones beyond it.
    await this.query(
      backend,
      `SELECT pg_terminate_backend(pid, $3) FROM (
         SELECT a.pid FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid
         WHERE a.datname = $1 AND a.backend_type = 'client backend' AND NOT r.rolsuper
         ORDER BY a.backend_start, a.pid OFFSET $2) excess`,
      [database, n, TERMINATE_WAIT_MS],
    );
  }

  async createCredentialRole(backend: BackendConnection, database: string, role: string, password: string): Promise<void> {
    await this.ensureLoginRole(backend, role, password);
    await this.exec(backend, `GRANT CONNECT ON DATABASE ${ident(database)} TO ${ident(role)}`);
  }

  async setPassword(backend: BackendConnection, role: string, password: string): Promise<void> {
    const verifier = await scramVerifier(password);
    await this.secretExec(backend, `ALTER ROLE ${ident(role)} PASSWORD ${literal(verifier)}`, `Setting the password of ${role}`, [
      password,
      verifier,
    ]);
    await this.terminateSessions(backend, role);
  }

  async dropCredentialRole(backend: BackendConnection, database: string, role: string, groupRole: string): Promise<void> {
    if (!(await this.roleExists(backend, role))) return;
    // NOLOGIN first, so no new session appears between terminating and dropping.
    await this.exec(backend, `ALTER ROLE ${ident(role)} NOLOGIN`);
    await this.terminateSessions(backend, role);
    if (await this.databaseExists(backend, database)) {
      const groupExists = await this.roleExists(backend, groupRole);
      await this.inDatabase(backend, database, async (client) => {
        if (groupExists) await client.query(`REASSIGN OWNED BY ${ident(role)} TO ${ident(groupRole)}`);
        await client.query(`DROP OWNED BY ${ident(role)}`);
      });
    }
    await this.exec(backend, `DROP ROLE IF EXISTS ${ident(role)}`);
  }

  async dropTenant(backend: BackendConnection, database: string, roles: string[]): Promise<void> {
    if (await this.databaseExists(backend, database)) {
      await this.ignoring(['3D000'], () => this.exec(backend, `ALTER DATABASE ${ident(database)} ALLOW_CONNECTIONS false`));
    }
    await this.exec(backend, `DROP DATABASE IF EXISTS ${ident(database)} WITH (FORCE)`);
    // Also every role named after the tenant that Attache lost track of (one a crash left behind).
    const prefix = database.replace(/^d_/, 'u_');
    const strays = await this.query<{ rolname: string }>(backend, `SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)`, [`${prefix}_`]);
    for (const role of [...new Set([...roles, ...strays.map((r) => r.rolname)])]) {
      if (!(await this.roleExists(backend, role))) continue;
      await this.ignoring(['42704'], () => this.exec(backend, `ALTER ROLE ${ident(role)} NOLOGIN`));
      await this.terminateSessions(backend, role);
      await this.exec(backend, `DROP ROLE IF EXISTS ${ident(role)}`);
    }
  }

  async restrict(backend: BackendConnection, tenant: TenantNames, credentialRoles: string[]): Promise<void> {
    const { database, groupRole, ownerRole } = tenant;
    const [u, g] = [ident(ownerRole), ident(groupRole)];
    await this.inDatabase(backend, database, async (client) => {
      await client.query('BEGIN');
      try {
        // Owning nothing and not in the owning group, the owner holds no privilege it could re-grant.
        await client.query(`REASSIGN OWNED BY ${u} TO ${g}`);
        await client.query(`GRANT CONNECT ON DATABASE ${ident(database)} TO ${u}`);
        for (const schema of await this.tenantSchemas(client)) {
          const s = ident(schema);
          await client.query(`GRANT USAGE ON SCHEMA ${s} TO ${u}`);
          await client.query(`GRANT SELECT, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA ${s} TO ${u}`);
          await client.query(`GRANT SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${u}`);
        }
        if (await this.isMember(client, ownerRole, groupRole)) await client.query(`REVOKE ${g} FROM ${u}`);
        // The group keeps only what its own SECURITY DEFINER functions could not grow the database with.
        await this.setGroupWriteRights(client, database, groupRole, 'REVOKE');
        await this.quarantineDefinerFunctions(client, tenant);
        for (const fn of LARGE_OBJECT_CREATORS) await client.query(`REVOKE EXECUTE ON FUNCTION ${fn} FROM PUBLIC`);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
    await this.terminateSessions(backend, ownerRole);
    // Rights the owner granted them survive the restriction: named credentials wait it out logged off.
    for (const role of credentialRoles) {
      if (!(await this.roleExists(backend, role))) continue;
      await this.exec(backend, `ALTER ROLE ${ident(role)} NOLOGIN`);
      await this.terminateSessions(backend, role);
    }
  }

  async unrestrict(backend: BackendConnection, tenant: TenantNames, credentialRoles: string[]): Promise<void> {
    const { database, groupRole, ownerRole } = tenant;
    const [u, g] = [ident(ownerRole), ident(groupRole)];
    await this.inDatabase(backend, database, async (client) => {
      await client.query('BEGIN');
      try {
        await this.setGroupWriteRights(client, database, groupRole, 'GRANT');
        for (const fn of LARGE_OBJECT_CREATORS) await client.query(`GRANT EXECUTE ON FUNCTION ${fn} TO PUBLIC`);
        if (await this.roleExistsIn(client, quarantineRole(tenant))) {
          await client.query(`REASSIGN OWNED BY ${ident(quarantineRole(tenant))} TO ${g}`);
        }
        if (!(await this.isMember(client, ownerRole, groupRole))) await client.query(`GRANT ${g} TO ${u}`);
        for (const schema of await this.tenantSchemas(client)) {
          const s = ident(schema);
          await client.query(`REVOKE SELECT ON ALL SEQUENCES IN SCHEMA ${s} FROM ${u}`);
          await client.query(`REVOKE SELECT, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA ${s} FROM ${u}`);
          await client.query(`REVOKE USAGE ON SCHEMA ${s} FROM ${u}`);
        }
        await client.query(`REVOKE CONNECT ON DATABASE ${ident(database)} FROM ${u}`);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
    await this.exec(backend, `DROP ROLE IF EXISTS ${ident(quarantineRole(tenant))}`);
    for (const role of credentialRoles) {
      if (await this.roleExists(backend, role)) await this.exec(backend, `ALTER ROLE ${ident(role)} LOGIN`);
    }
  }

  /**
   * A SECURITY DEFINER function runs as its owner, and an owner can always grant itself rights
   * again: while restricted, such functions belong to a role that owns nothing else.
   */
  private async quarantineDefinerFunctions(client: Client, tenant: TenantNames): Promise<void> {
    const quarantine = quarantineRole(tenant);
    const { rows } = await client.query<{ fn: string }>(
      `SELECT p.oid::regprocedure::text AS fn FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner
       WHERE p.prosecdef AND NOT r.rolsuper AND (r.rolname = $1 OR starts_with(r.rolname, $2))`,
      [tenant.groupRole, `${tenant.ownerRole}_`],
    );
    if (rows.length === 0) return;
    if (!(await this.roleExistsIn(client, quarantine))) {
      await client.query(`CREATE ROLE ${ident(quarantine)} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT`);
    }
    for (const { fn } of rows) await client.query(`ALTER FUNCTION ${fn} OWNER TO ${ident(quarantine)}`);
  }

  private async roleExistsIn(client: Client, role: string): Promise<boolean> {
    return ((await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount ?? 0) > 0;
  }

  async databaseSizes(backend: BackendConnection, databases: string[]): Promise<Map<string, number>> {
    const rows = await this.query<{ datname: string; size: string | null }>(
      backend,
      'SELECT datname, pg_database_size(oid) AS size FROM pg_database WHERE datname = ANY($1::text[])',
      [databases],
    );
    // A database dropped while being measured reports NULL.
    return new Map(rows.filter((row) => row.size !== null).map((row) => [row.datname, Number(row.size)]));
  }

  async stats(
    backend: BackendConnection,
    database: string,
  ): Promise<{ sizeBytes: number; connections: number; tables: number; serverVersion: string }> {
    return this.inDatabase(backend, database, async (client) => {
      const { rows } = await client.query<{ size: string; connections: string; tables: string; version: string }>(`
        SELECT pg_database_size(current_database()) AS size,
          (SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()) AS connections,
          (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_temp\\_%') AS tables,
          current_setting('server_version') AS version`);
      const [row] = rows;
      return {
        sizeBytes: Number(row.size),
        connections: Number(row.connections),
        tables: Number(row.tables),
        // Debian builds append the package version: "15.18 (Debian 15.18-0+deb12u1)".
        serverVersion: row.version.split(' ')[0],
      };
    });
  }

  async dump(backend: BackendConnection, database: string, file: string): Promise<number> {
    // Dumps hold the tenant's data: readable by Attache's user only.
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const partial = `${file}.partial`;
    try {
      await writeFile(partial, '', { mode: 0o600 });
      await this.runTool(backend, 'pg_dump', ['-Fc', '-f', partial, '-d', database]);
      await chmod(partial, 0o600);
      await rename(partial, file);
    } catch (error) {
      await unlink(partial).catch(() => undefined);
      throw error;
    }
    return (await stat(file)).size;
  }

  async restore(backend: BackendConnection, tenant: TenantNames, file: string): Promise<void> {
    // pg_restore runs tenant code (constraint and index functions) while it loads data. Logged in
    // as the superuser, that code could RESET ROLE to it; so it logs in as a throwaway member of
    // the tenant's group, and what it creates is handed to the group afterwards.
    const loader = restoreRole(tenant);
    const password = randomBytes(24).toString('hex');
    // --clean drops what the dump replaces, which the loader may do only for objects of its group.
    // (REASSIGN runs no tenant code, so this superuser step is safe.)
    await this.inDatabase(backend, tenant.database, async (client) => {
      const { rows } = await client.query<{ rolname: string }>(
        `SELECT rolname FROM pg_roles WHERE rolname = $1 OR (starts_with(rolname, $2) AND rolname <> $3)`,
        [tenant.ownerRole, `${tenant.ownerRole}_`, quarantineRole(tenant)],
      );
      for (const { rolname } of rows) await client.query(`REASSIGN OWNED BY ${ident(rolname)} TO ${ident(tenant.groupRole)}`);
    });
    await this.ensureLoginRole(backend, loader, password);
    if (!(await this.isMember(backend, loader, tenant.groupRole))) {
      await this.exec(backend, `GRANT ${ident(tenant.groupRole)} TO ${ident(loader)}`);
    }
    try {
      await this.runTool({ ...backend, user: loader, password }, 'pg_restore', [
        '--clean',
        '--if-exists',
        '--no-owner',
        '--no-acl',
        '--single-transaction',
        '-d',
        tenant.database,
        file,
      ]);
    } finally {
      await this.terminateSessions(backend, loader);
      if (await this.roleExists(backend, loader)) {
        await this.inDatabase(backend, tenant.database, (client) => client.query(`REASSIGN OWNED BY ${ident(loader)} TO ${ident(tenant.groupRole)}`));
      }
      await this.exec(backend, `DROP ROLE IF EXISTS ${ident(loader)}`);
    }
  }

  private async ensureLoginRole(backend: BackendConnection, role: string, password: string, derived?: Promise<string>): Promise<void> {
    const verifier = derived ? await derived.catch(() => scramVerifier(password)) : await scramVerifier(password);
    const attributes = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD ${literal(verifier)}`;
    const secrets = [password, verifier];
    let created = false;
    if (!(await this.roleExists(backend, role))) {
      created = await this.ignoring(['42710', '23505'], () =>
        this.secretExec(backend, `CREATE ROLE ${ident(role)} ${attributes}`, `Creating role ${role}`, secrets),
      );
    }
    if (!created) await this.secretExec(backend, `ALTER ROLE ${ident(role)} ${attributes}`, `Updating role ${role}`, secrets);
    for (const [name, value] of LOGIN_ROLE_SETTINGS) {
      await this.exec(backend, `ALTER ROLE ${ident(role)} SET ${name} = ${literal(value)}`);
    }
  }

  /**
   * Takes away (or gives back) the group role's own INSERT and UPDATE on its tables and CREATE on
   * its schemas and database. Restricting the login role alone would leave a SECURITY DEFINER
   * function, which runs as the group, able to write. Owners hold every right on their objects
   * by default, so giving back is exact.
   */
  private async setGroupWriteRights(client: Client, database: string, groupRole: string, action: 'GRANT' | 'REVOKE'): Promise<void> {
    const g = ident(groupRole);
    const preposition = action === 'GRANT' ? 'TO' : 'FROM';
    const { rows: tables } = await client.query<{ name: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND c.relowner = $1::regrole AND n.nspname NOT IN ('pg_catalog', 'information_schema')`,
      [groupRole],
    );
    for (const { name } of tables) await client.query(`${action} INSERT, UPDATE ON TABLE ${name} ${preposition} ${g}`);
    const { rows: schemas } = await client.query<{ name: string; owner: string }>(
      `SELECT quote_ident(nspname) AS name, quote_ident(nspowner::regrole::text) AS owner FROM pg_namespace
       WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%'
         AND (nspowner = $1::regrole OR nspowner = 'pg_database_owner'::regrole)`,
      [groupRole],
    );
    for (const { name, owner } of schemas) await client.query(`${action} CREATE ON SCHEMA ${name} ${preposition} ${owner}`);
    await client.query(`${action} CREATE, TEMPORARY ON DATABASE ${ident(database)} ${preposition} ${g}`);
  }

  private async tenantSchemas(client: Client): Promise<string[]> {
    const { rows } = await client.query<{ nspname: string }>(TENANT_SCHEMAS_SQL);
    return rows.map((row) => row.nspname);
  }

  private async isMember(on: BackendConnection | Client, member: string, group: string): Promise<boolean> {
    const sql = `SELECT 1 FROM pg_auth_members m
      JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
      WHERE r.rolname = $1 AND u.rolname = $2`;
    const rows = on instanceof Client ? (await on.query(sql, [group, member])).rows : await this.query(on, sql, [group, member]);
    return rows.length > 0;
  }

  private async roleExists(backend: BackendConnection, role: string): Promise<boolean> {
    return (await this.query(backend, 'SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).length > 0;
  }

  private async databaseExists(backend: BackendConnection, database: string): Promise<boolean> {
    return (await this.query(backend, 'SELECT 1 FROM pg_database WHERE datname = $1', [database])).length > 0;
  }

  private async terminateSessions(backend: BackendConnection, role: string): Promise<void> {
    await this.query(
      backend,
      'SELECT pg_terminate_backend(pid, $2) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
      [role, TERMINATE_WAIT_MS],
    );
  }

  /** Runs `work`; true when it ran, false when it failed with one of `codes` (someone else got there first). */
  private async ignoring(codes: string[], work: () => Promise<unknown>): Promise<boolean> {
    try {
      await work();
      return true;
    } catch (error) {
      if (codes.includes(sqlState(error) ?? '')) return false;
      throw error;
    }
  }

  private async exec(backend: BackendConnection, sql: string): Promise<void> {
    await this.pool(backend).query(sql);
  }

  private async secretExec(backend: BackendConnection, sql: string, action: string, secrets: string[]): Promise<void> {
    try {
      await this.pool(backend).query(sql);
    } catch (error) {
      throw scrubbed(error, action, secrets);
    }
  }

  private async query<T extends object = Record<string, unknown>>(backend: BackendConnection, sql: string, params: unknown[]): Promise<T[]> {
    return (await this.pool(backend).query<T>(sql, params)).rows;
  }

  private pool(backend: BackendConnection): Pool {
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([backend.host, backend.port, backend.user, backend.password, backend.maintenanceDatabase]))
      .digest('hex');
    const existing = this.pools.get(backend.id);
    if (existing?.fingerprint === fingerprint) return existing.pool;
    // The backend's address or superuser password changed: retire the old pool.
    if (existing) void existing.pool.end().catch(() => undefined);
    const pool = new Pool({
      ...this.connectionOptions(backend, backend.maintenanceDatabase),
      max: 4,
      // Provisions come minutes apart; a new scram login to the cluster would cost each one ~6 ms.
      idleTimeoutMillis: 5 * 60_000,
      // Idle connections must not keep a finishing process (a CLI command, a test) alive.
      allowExitOnIdle: true,
    });
    pool.on('error', (error) => this.logger.warn(`Idle connection to PostgreSQL backend ${backend.name} failed: ${error.message}`));
    this.pools.set(backend.id, { fingerprint, pool });
    return pool;
  }

  private async inDatabase<T>(backend: BackendConnection, database: string, work: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client(this.connectionOptions(backend, database));
    client.on('error', (error) => this.logger.warn(`Connection to ${database} on ${backend.name} failed: ${error.message}`));
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private connectionOptions(backend: BackendConnection, database: string) {
    return {
      host: backend.host,
      port: backend.port,
      user: backend.user,
      password: backend.password,
      database,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      application_name: 'attache-admin',
    };
  }

  /** pg_dump / pg_restore as the superuser over TCP; the password travels in the child's env, never argv. */
  private async runTool(backend: BackendConnection, tool: 'pg_dump' | 'pg_restore', args: string[]): Promise<void> {
    // Inherited PG* variables (PGOPTIONS, PGSERVICE, ...) would change what the tool connects to.
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PG')));
    env.PGPASSWORD = backend.password;
    env.PGCONNECT_TIMEOUT = String(CONNECT_TIMEOUT_MS / 1000);
    env.PGAPPNAME = 'attache-admin';
    try {
      await execFileAsync(tool, ['--no-password', '-h', backend.host, '-p', String(backend.port), '-U', backend.user, ...args], {
        env,
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (error) {
      const stderr = typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr).trim() : '';
      throw new Error(`${tool} failed: ${stderr || (error instanceof Error ? error.message : String(error))}`);
    }
  }
}

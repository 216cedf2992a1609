import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { BackendConnection, TenantNames } from '@app/domain';
import { localPostgresClusters } from '@app/config';
import { ensureLocalPostgresClusters } from '@app/testing';
import { PgClusterAdmin } from './pg-cluster-admin';

interface Tenant extends TenantNames {
  backend: BackendConnection;
  password: string;
  /** Every role to drop at the end, owner and group included. */
  roles: string[];
}

/** A client that remembers the errors it got while idle (a terminated session gets two: the server's, then the close). */
interface TestClient extends Client {
  idleErrors: string[];
}

const hex = (bytes = 6) => randomBytes(bytes).toString('hex');
const password = () => randomBytes(24).toString('base64url');

/**
 * PgClusterAdmin on Attache's own two clusters (scripts/postgres-clusters.sh, scram auth), with
 * every claim checked by connecting as the tenant.
 */
describe('PgClusterAdmin', () => {
  const admin = new PgClusterAdmin();
  const tenants: Tenant[] = [];
  const clients: TestClient[] = [];
  let shared1: BackendConnection;
  let shared2: BackendConnection;
  let scratch: string;

  const superuser = (backend: BackendConnection, database = 'postgres') =>
    connect(backend, backend.user, backend.password, database);

  async function connect(backend: BackendConnection, user: string, pw: string, database: string): Promise<TestClient> {
    const client: TestClient = Object.assign(new Client({ host: backend.host, port: backend.port, user, password: pw, database }), {
      idleErrors: [],
    });
    client.on('error', (error) => client.idleErrors.push(error.message));
    await client.connect();
    clients.push(client);
    return client;
  }

  /** The message of the connection failure, or '' if the connection worked. */
  async function connectError(backend: BackendConnection, user: string, pw: string, database: string): Promise<string> {
    try {
      const client = await connect(backend, user, pw, database);
      await client.end();
      return '';
    } catch (error) {
      return (error as Error).message;
    }
  }

  async function queryError(client: Client, sql: string): Promise<string> {
    try {
      await client.query(sql);
      return '';
    } catch (error) {
      return (error as Error).message;
    }
  }

  async function newTenant(backend: BackendConnection, connectionLimit = 10): Promise<Tenant> {
    const id = hex();
    const tenant: Tenant = {
      backend,
      database: `d_${id}`,
      groupRole: `g_${id}`,
      ownerRole: `u_${id}`,
      password: password(),
      roles: [],
    };
    tenant.roles.push(tenant.ownerRole, tenant.groupRole);
    tenants.push(tenant);
    await admin.createTenant(backend, { ...tenant, ownerPassword: tenant.password, connectionLimit });
    return tenant;
  }

  const asOwner = (tenant: Tenant, database = tenant.database) => connect(tenant.backend, tenant.ownerRole, tenant.password, database);

  async function catalogState(backend: BackendConnection, tenant: Tenant): Promise<{ databases: number; roles: number }> {
    const client = await superuser(backend);
    try {
      const databases = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [tenant.database]);
      const roles = await client.query('SELECT 1 FROM pg_roles WHERE rolname = ANY($1::text[])', [tenant.roles]);
      return { databases: databases.rowCount ?? 0, roles: roles.rowCount ?? 0 };
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    ensureLocalPostgresClusters();
    const clusters = localPostgresClusters();
    expect(clusters.length).toBeGreaterThanOrEqual(2);
    [shared1, shared2] = clusters.slice(0, 2).map((cluster) => ({
      id: `test-${cluster.name}`,
      name: cluster.name,
      host: cluster.host,
      port: cluster.port,
      user: cluster.user,
      password: cluster.password,
      maintenanceDatabase: 'postgres',
    }));
    scratch = mkdtempSync(join(tmpdir(), 'attache-pg-admin-'));
    for (const backend of [shared1, shared2]) {
      await admin.harden(backend);
      await admin.harden(backend);
    }
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.end()));
    for (const tenant of tenants) {
      await admin.dropTenant(tenant.backend, tenant.database, tenant.roles).catch((error) => console.error(error));
    }
    await admin.onModuleDestroy();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('keeps each tenant to its own database, on either cluster', async () => {
    const a = await newTenant(shared1);
    const b = await newTenant(shared1);
    const c = await newTenant(shared2);

    const own = await asOwner(a);
    await own.query('CREATE TABLE notes (id serial PRIMARY KEY, body text)');
    await own.query(`INSERT INTO notes (body) VALUES ('a')`);
    expect((await own.query('SELECT count(*)::int AS n FROM notes')).rows).toEqual([{ n: 1 }]);
    expect((await own.query(`SELECT tableowner FROM pg_tables WHERE tablename = 'notes'`)).rows).toEqual([{ tableowner: a.ownerRole }]);

    expect(await connectError(shared1, b.ownerRole, b.password, a.database)).toMatch(
      new RegExp(`permission denied for database "${a.database}"`),
    );
    expect(await connectError(shared1, a.ownerRole, a.password, b.database)).toMatch(/permission denied for database/);
    // The other cluster has no such role.
    expect(await connectError(shared2, a.ownerRole, a.password, c.database)).toMatch(/password authentication failed/);
    expect(await connectError(shared1, a.ownerRole, 'wrong-password', a.database)).toMatch(/password authentication failed/);
    // c works on its own cluster.
    const other = await asOwner(c);
    expect((await other.query('SELECT current_database() AS db')).rows).toEqual([{ db: c.database }]);
  });

  it('gives a tenant no way into the rest of the cluster', async () => {
    const t = await newTenant(shared2);
    expect(await connectError(shared2, t.ownerRole, t.password, 'postgres')).toMatch(/permission denied for database "postgres"/);
    expect(await connectError(shared2, t.ownerRole, t.password, 'template1')).toMatch(/permission denied for database "template1"/);
    expect(await connectError(shared2, t.ownerRole, t.password, 'template0')).toMatch(/not currently accepting connections/);

    const own = await asOwner(t);
    expect(await queryError(own, 'SELECT * FROM pg_authid')).toMatch(/permission denied for table pg_authid/);
    expect(await queryError(own, 'CREATE ROLE sneaky LOGIN')).toMatch(/permission denied to create role/);
    expect(await queryError(own, 'CREATE DATABASE sneaky')).toMatch(/permission denied to create database/);
    expect(await queryError(own, `ALTER ROLE ${t.ownerRole} SUPERUSER`)).toMatch(/must be superuser/);
    expect(await queryError(own, `SET temp_file_limit = '100GB'`)).toMatch(/permission denied to set parameter/);
    const { rows } = await own.query(
      `SELECT rolsuper, rolcreatedb, rolcreaterole, current_setting('is_superuser') AS su FROM pg_roles WHERE rolname = current_user`,
    );
    expect(rows).toEqual([{ rolsuper: false, rolcreatedb: false, rolcreaterole: false, su: 'off' }]);
  });

  it('enforces the connection limit and changes it in place', async () => {
    const t = await newTenant(shared1, 2);
    const first = await asOwner(t);
    await asOwner(t);
    expect(await connectError(shared1, t.ownerRole, t.password, t.database)).toMatch(
      new RegExp(`too many connections for database "${t.database}"`),
    );
    // The tenant does not own its database, so it can neither lift the limit nor drop it.
    expect(await queryError(first, `ALTER DATABASE ${t.database} CONNECTION LIMIT -1`)).toMatch(/must be owner of database/);
    expect(await queryError(first, `ALTER DATABASE ${t.database} SET work_mem = '1GB'`)).toMatch(/must be owner of database/);

    await admin.setConnectionLimit(shared1, t.database, 3);
    await asOwner(t);
    await admin.setConnectionLimit(shared1, t.database, 1);
    await admin.setConnectionLimit(shared1, t.database, 1);
    // The oldest session stays; the newer ones are ended.
    expect((await first.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    const client = await superuser(shared1);
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1`, [t.database]);
    expect(rows).toEqual([{ n: 1 }]);
    expect(await connectError(shared1, t.ownerRole, t.password, t.database)).toMatch(/too many connections/);
  });

  it('restricts the owner to reading and deleting, in a way it cannot undo, and lifts it again', async () => {
    const t = await newTenant(shared2);
    const setup = await asOwner(t);
    await setup.query('CREATE TABLE items (id serial PRIMARY KEY, body text)');
    await setup.query(`INSERT INTO items (body) SELECT 'row ' || g FROM generate_series(1, 5) g`);
    await setup.query('CREATE SCHEMA app');
    await setup.query('CREATE TABLE app.events (id bigserial PRIMARY KEY, kind text)');
    await setup.query(`INSERT INTO app.events (kind) VALUES ('x'), ('y')`);

    // Written before the restriction: a SECURITY DEFINER function runs as the database's owning group.
    await setup.query(`CREATE FUNCTION sneak(body text) RETURNS void LANGUAGE sql SECURITY DEFINER AS $$ INSERT INTO items (body) VALUES (body) $$`);
    await setup.query(`CREATE FUNCTION sneak_table() RETURNS void LANGUAGE sql SECURITY DEFINER AS $$ CREATE TABLE public.sneaked (id int) $$`);

    await admin.restrict(shared2, t, []);
    await admin.restrict(shared2, t, []);
    // The session open before the restriction has been ended.
    expect(await queryError(setup, 'SELECT 1')).not.toBe('');
    expect(setup.idleErrors).toContain('terminating connection due to administrator command');

    const own = await asOwner(t);
    expect((await own.query('SELECT count(*)::int AS n FROM items')).rows).toEqual([{ n: 5 }]);
    expect((await own.query('SELECT count(*)::int AS n FROM app.events')).rows).toEqual([{ n: 2 }]);
    expect((await own.query('DELETE FROM items WHERE id = 1')).rowCount).toBe(1);
    await own.query('TRUNCATE app.events');
    expect(await queryError(own, `INSERT INTO items (body) VALUES ('more')`)).toMatch(/permission denied for table items/);
    expect(await queryError(own, `UPDATE items SET body = 'changed'`)).toMatch(/permission denied for table items/);
    expect(await queryError(own, 'CREATE TABLE more (id int)')).toMatch(/permission denied for schema public/);
    expect(await queryError(own, 'CREATE SCHEMA more')).toMatch(/permission denied for database/);
    expect(await queryError(own, 'CREATE TEMP TABLE scratch (id int)')).toMatch(/permission denied/);
    // Holding SELECT without grant option, GRANT only warns; the INSERT below shows it changed nothing.
    const notices: string[] = [];
    own.on('notice', (notice) => notices.push(notice.message ?? ''));
    expect(await queryError(own, `GRANT INSERT ON items TO ${t.ownerRole}`)).toBe('');
    expect(notices).toContain('no privileges were granted for "items"');
    expect(await queryError(own, `SET ROLE ${t.groupRole}`)).toMatch(/permission denied to set role/);
    expect(await queryError(own, `ALTER TABLE items OWNER TO ${t.ownerRole}`)).toMatch(/must be owner/);
    expect(await queryError(own, `INSERT INTO items (body) VALUES ('more')`)).toMatch(/permission denied for table items/);
    expect(await queryError(own, `GRANT INSERT ON app.events TO ${t.ownerRole} WITH GRANT OPTION`)).toBe('');
    expect(await queryError(own, `INSERT INTO app.events (kind) VALUES ('w')`)).toMatch(/permission denied for table events/);

    // While restricted such functions run as a role with no rights at all: not even the schema is visible.
    expect(await queryError(own, `SELECT sneak('through a definer')`)).toMatch(/permission denied|relation "items" does not exist/);
    expect(await queryError(own, 'SELECT sneak_table()')).toMatch(/permission denied for schema public/);

    await admin.unrestrict(shared2, t, []);
    await admin.unrestrict(shared2, t, []);
    await own.query(`SELECT sneak('again')`);
    await own.query(`DELETE FROM items WHERE body = 'again'`);
    await own.query(`INSERT INTO items (body) VALUES ('again')`);
    await own.query(`UPDATE items SET body = 'changed' WHERE body = 'again'`);
    await own.query('CREATE TABLE more (id int)');
    await own.query('INSERT INTO app.events (kind) VALUES ($1)', ['z']);
    expect((await own.query('SELECT count(*)::int AS n FROM items')).rows).toEqual([{ n: 5 }]);

    // Nothing of the restriction is left in the ACLs.
    const su = await superuser(shared2, t.database);
    const grants = await su.query(
      `SELECT c.relname FROM pg_class c, aclexplode(c.relacl) a WHERE a.grantee = $1::regrole
       UNION ALL SELECT n.nspname FROM pg_namespace n, aclexplode(n.nspacl) a WHERE a.grantee = $1::regrole
       UNION ALL SELECT d.datname FROM pg_database d, aclexplode(d.datacl) a WHERE a.grantee = $1::regrole`,
      [t.ownerRole],
    );
    expect(grants.rows).toEqual([]);
  });

  it('rotates a password: the old one fails and open sessions end', async () => {
    const t = await newTenant(shared1);
    const open = await asOwner(t);
    const next = password();
    await admin.setPassword(shared1, t.ownerRole, next);
    expect(await queryError(open, 'SELECT 1')).not.toBe('');
    expect(open.idleErrors).toContain('terminating connection due to administrator command');
    expect(await connectError(shared1, t.ownerRole, t.password, t.database)).toMatch(/password authentication failed/);
    t.password = next;
    await admin.setPassword(shared1, t.ownerRole, next);
    expect(await connectError(shared1, t.ownerRole, next, t.database)).toBe('');

    const secret = password();
    const failure = await admin.setPassword(shared1, `u_missing_${hex()}`, secret).catch((error: Error) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/does not exist/);
    expect((failure as Error).message).not.toContain(secret);
    expect((failure as Error).message).not.toContain('SCRAM-SHA-256$');
  });

  it('re-running createTenant is harmless and applies the given password', async () => {
    const t = await newTenant(shared2, 5);
    const own = await asOwner(t);
    await own.query('CREATE TABLE kept (id int)');
    await own.query('INSERT INTO kept VALUES (1)');
    await own.end();
    const next = password();
    await admin.createTenant(shared2, { ...t, ownerPassword: next, connectionLimit: 7 });
    expect(await connectError(shared2, t.ownerRole, t.password, t.database)).toMatch(/password authentication failed/);
    t.password = next;
    const again = await asOwner(t);
    expect((await again.query('SELECT id FROM kept')).rows).toEqual([{ id: 1 }]);
    const su = await superuser(shared2);
    const { rows } = await su.query(`SELECT datconnlimit, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1`, [
      t.database,
    ]);
    expect(rows).toEqual([{ datconnlimit: 7, owner: shared2.user }]);
  });

  it('takes an owner verifier derived beforehand, and derives its own if that failed', async () => {
    const t = await newTenant(shared1, 5);
    const su = await superuser(shared1);
    const stored = async () => (await su.query<{ v: string }>('SELECT rolpassword AS v FROM pg_authid WHERE rolname = $1', [t.ownerRole])).rows[0].v;

    const next = password();
    const verifier = await admin.passwordVerifier(next);
    expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(verifier).not.toContain(next);
    await admin.createTenant(shared1, { ...t, ownerPassword: next, ownerVerifier: Promise.resolve(verifier), connectionLimit: 5 });
    // The very verifier given, which the password logs in with.
    expect(await stored()).toBe(verifier);
    t.password = next;
    await (await asOwner(t)).end();

    const last = password();
    const failed = Promise.reject(new Error('not derived'));
    await admin.createTenant(shared1, { ...t, ownerPassword: last, ownerVerifier: failed, connectionLimit: 5 });
    expect(await stored()).not.toBe(verifier);
    expect(await connectError(shared1, t.ownerRole, next, t.database)).toMatch(/password authentication failed/);
    t.password = last;
    await (await asOwner(t)).end();
  });

  it('gives a named credential nothing until the owner grants it', async () => {
    const t = await newTenant(shared1);
    const other = await newTenant(shared1);
    const own = await asOwner(t);
    await own.query('CREATE TABLE secrets (id int, body text)');
    await own.query(`INSERT INTO secrets VALUES (1, 'hidden')`);
    const analyst = `${t.ownerRole}_analyst`;
    const analystPassword = password();
    t.roles.unshift(analyst);
    await admin.createCredentialRole(shared1, t.database, analyst, analystPassword);
    await admin.createCredentialRole(shared1, t.database, analyst, analystPassword);

    const cred = await connect(shared1, analyst, analystPassword, t.database);
    expect(await queryError(cred, 'SELECT * FROM public.secrets')).toMatch(/permission denied for schema public/);
    expect(await queryError(cred, 'SELECT * FROM secrets')).toMatch(/does not exist|permission denied/);
    expect(await queryError(cred, 'CREATE TABLE mine (id int)')).toMatch(/permission denied|no schema has been selected/);
    expect(await connectError(shared1, analyst, analystPassword, other.database)).toMatch(/permission denied for database/);
    expect(await connectError(shared1, analyst, analystPassword, 'postgres')).toMatch(/permission denied for database/);

    await own.query(`GRANT USAGE ON SCHEMA public TO ${analyst}`);
    await own.query(`GRANT SELECT ON secrets TO ${analyst}`);
    await own.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ${analyst}`);
    expect((await cred.query('SELECT body FROM secrets')).rows).toEqual([{ body: 'hidden' }]);
    expect(await queryError(cred, `INSERT INTO secrets VALUES (2, 'no')`)).toMatch(/permission denied for table secrets/);

    await admin.dropCredentialRole(shared1, t.database, analyst, t.groupRole);
    await admin.dropCredentialRole(shared1, t.database, analyst, t.groupRole);
    expect(cred.idleErrors).toContain('terminating connection due to administrator command');
    const su = await superuser(shared1);
    expect((await su.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [analyst])).rowCount).toBe(0);
    // The owner's table and rights are untouched.
    expect((await own.query('SELECT count(*)::int AS n FROM secrets')).rows).toEqual([{ n: 1 }]);
  });

  it('dumps one tenant and restores it into another, across clusters', async () => {
    const source = await newTenant(shared1);
    const target = await newTenant(shared2);
    const own = await asOwner(source);
    await own.query('CREATE TABLE orders (id serial PRIMARY KEY, total numeric NOT NULL)');
    await own.query('CREATE INDEX orders_total ON orders (total)');
    await own.query('INSERT INTO orders (total) SELECT g * 1.5 FROM generate_series(1, 100) g');
    await own.query('CREATE SCHEMA reports');
    await own.query('CREATE VIEW reports.big AS SELECT * FROM public.orders WHERE total > 100');

    // The target already holds a table of the same name, created (and owned) by its login role.
    const targetOwner = await asOwner(target);
    await targetOwner.query('CREATE TABLE orders (id int)');
    await targetOwner.query('INSERT INTO orders VALUES (42)');

    const file = join(scratch, 'nested', 'b001.dump');
    expect(await admin.dump(shared1, source.database, file)).toBeGreaterThan(0);
    const size = await admin.dump(shared1, source.database, file);
    expect(size).toBeGreaterThan(0);
    expect(existsSync(`${file}.partial`)).toBe(false);

    await admin.restore(shared2, target, file);
    await admin.restore(shared2, target, file);

    const check = await asOwner(target);
    const expected = (await own.query('SELECT id, total FROM orders ORDER BY id')).rows;
    expect((await check.query('SELECT id, total FROM orders ORDER BY id')).rows).toEqual(expected);
    expect((await check.query('SELECT count(*)::int AS n FROM reports.big')).rows).toEqual([{ n: 34 }]);
    const owners = await check.query(
      `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace IN ('public'::regnamespace, 'reports'::regnamespace)`,
    );
    expect(owners.rows).toEqual([{ owner: target.groupRole }]);
    await check.query('INSERT INTO orders (total) VALUES (1)');

    await expect(admin.dump(shared1, `d_missing_${hex()}`, join(scratch, 'missing.dump'))).rejects.toThrow(/pg_dump failed: .*does not exist/);
    expect(existsSync(join(scratch, 'missing.dump.partial'))).toBe(false);
  });

  it('runs a restore as the tenant, so tenant code in the dump cannot act as the superuser', async () => {
    const t = await newTenant(shared1);
    const own = await asOwner(t);
    // Evaluated by COPY while pg_restore loads the row: it tries to return to the session's login role.
    await own.query(`CREATE FUNCTION esc(v int) RETURNS boolean LANGUAGE plpgsql AS $$
      BEGIN
        EXECUTE 'RESET ROLE';
        EXECUTE format('ALTER ROLE %I CREATEDB', '${t.ownerRole}');
        RETURN true;
      EXCEPTION WHEN others THEN RETURN true;
      END $$`);
    await own.query('CREATE TABLE trap (v int CHECK (public.esc(v)))');
    await own.query('INSERT INTO trap VALUES (1)');
    const file = join(scratch, 'trap.dump');
    await admin.dump(shared1, t.database, file);
    await admin.restore(shared1, t, file);

    const su = await superuser(shared1);
    const { rows } = await su.query('SELECT rolcreatedb, rolsuper FROM pg_roles WHERE rolname = $1', [t.ownerRole]);
    expect(rows).toEqual([{ rolcreatedb: false, rolsuper: false }]);
    expect((await asOwner(t).then((c) => c.query('SELECT count(*)::int AS n FROM trap'))).rows).toEqual([{ n: 1 }]);
    // The throwaway role the restore logged in as is gone.
    expect((await su.query('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)', [`${t.ownerRole}_`])).rows).toEqual([]);
  });

  it('leaves a restricted tenant no back door: definer functions and large objects cannot write either', async () => {
    const t = await newTenant(shared2);
    const own = await asOwner(t);
    await own.query('CREATE TABLE t (v text)');
    await own.query(`CREATE FUNCTION regrant() RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$
      BEGIN
        EXECUTE format('GRANT INSERT ON public.t TO %I', '${t.groupRole}');
        INSERT INTO public.t VALUES ('sneaked');
      END $$`);
    await admin.restrict(shared2, t, []);

    const restricted = await asOwner(t);
    expect(await queryError(restricted, 'SELECT regrant()')).toMatch(/permission denied|does not exist/);
    expect(await queryError(restricted, `SELECT lo_from_bytea(0, 'x'::bytea)`)).toMatch(/permission denied for function lo_from_bytea/);
    expect(await queryError(restricted, 'SELECT lo_create(0)')).toMatch(/permission denied for function lo_create/);
    expect((await restricted.query('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 0 }]);

    await admin.unrestrict(shared2, t, []);
    const lifted = await asOwner(t);
    await lifted.query('SELECT regrant()');
    await lifted.query(`SELECT lo_from_bytea(0, 'x'::bytea)`);
    expect((await lifted.query('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 1 }]);
    const su = await superuser(shared2, t.database);
    const owners = await su.query(`SELECT pg_get_userbyid(proowner) AS owner FROM pg_proc WHERE proname = 'regrant'`);
    expect(owners.rows).toEqual([{ owner: t.groupRole }]);
  });

  it('measures databases', async () => {
    const t = await newTenant(shared2);
    const own = await asOwner(t);
    await own.query('CREATE TABLE a (id int)');
    await own.query('CREATE TABLE b (id int) PARTITION BY RANGE (id)');
    await own.query('CREATE TABLE b1 PARTITION OF b FOR VALUES FROM (0) TO (10)');
    const missing = `d_missing_${hex()}`;
    const sizes = await admin.databaseSizes(shared2, [t.database, missing]);
    expect([...sizes.keys()]).toEqual([t.database]);
    expect(sizes.get(t.database)).toBeGreaterThan(1_000_000);

    const stats = await admin.stats(shared2, t.database);
    expect(stats).toEqual({ sizeBytes: expect.any(Number), connections: 1, tables: 3, serverVersion: expect.stringMatching(/^15\.\d+$/) });
    expect(stats.sizeBytes).toBeGreaterThan(1_000_000);
  });

  it('drops a tenant leaving nothing behind, even with sessions open', async () => {
    for (const backend of [shared1, shared2]) {
      const t = await newTenant(backend);
      const cred = `${t.ownerRole}_ro`;
      const credPassword = password();
      t.roles.unshift(cred);
      await admin.createCredentialRole(backend, t.database, cred, credPassword);
      const own = await asOwner(t);
      await own.query('CREATE TABLE x (id int)');
      await connect(backend, cred, credPassword, t.database);

      await admin.dropTenant(backend, t.database, t.roles);
      await admin.dropTenant(backend, t.database, t.roles);
      expect(await catalogState(backend, t)).toEqual({ databases: 0, roles: 0 });
      expect(await queryError(own, 'SELECT 1')).not.toBe('');
    }
  });
});

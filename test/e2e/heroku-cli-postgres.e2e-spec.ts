import { execFile } from 'node:child_process';
import { Client } from 'pg';
import { localPostgresClusters } from '@app/config';
import { tenantNames } from '@app/domain';
import { herokuCliSuite } from '../support/heroku-cli-suite';

interface Psql {
  code: number;
  output: string;
}

/**
 * The real Heroku CLI (npm heroku@11) against a running Attache, for the first-party
 * `postgresql` service on the local shared clusters, and psql on the URL the CLI prints.
 */
describe('the Heroku CLI with first-party PostgreSQL', () => {
  const suite = herokuCliSuite('cli-pg', { postgres: true });
  const { heroku } = suite;

  /** Two apps of the test's own, the second named after the first. */
  const newApps = async (prefix: string) => {
    const owner = await suite.newApp(prefix);
    await suite.attache.createApp(suite.apiKey, `${owner}-b`);
    return { owner, other: `${owner}-b` };
  };

  /** A provisioned essential-0 database on `app`, made over the API. */
  const newDatabase = async (app: string) => {
    const { attache, apiKey } = suite;
    const created = await attache.client(apiKey).post(`/apps/${app}/addons`).send({ plan: 'postgresql:essential-0' });
    expect(created.status).toBe(201);
    await attache.waitForAddon(apiKey, created.body.id, (addon) => addon.state === 'provisioned');
    const url = (await attache.configVars(apiKey, app)).DATABASE_URL;
    expect(url).toMatch(/^postgres(ql)?:\/\//);
    return { id: created.body.id as string, name: created.body.name as string, url };
  };

  it('creates a database, shows it, and psql works with the URL config:get prints', async () => {
    const { attache, apiKey } = suite;
    const { owner } = await newApps('pg-create');

    const created = await heroku('addons:create', 'postgresql:essential-0', '-a', owner, '--wait');
    expect(created).toContain(`Creating postgresql:essential-0 on ${owner}... ~$0.007/hour (max $5/month)`);
    const name = /Created (\S+) as DATABASE_URL/.exec(created)?.[1];
    expect(name).toMatch(/^postgresql-[a-z]+-\d+$/);
    expect(created).toContain('Run heroku addons:docs postgresql to view documentation.');

    const info = await heroku('addons:info', name!);
    expect(info).toContain(`=== ${name}`);
    expect(info).toMatch(/Plan:\s+postgresql:essential-0/);
    expect(info).toMatch(/Price:\s+~\$0\.007\/hour/);
    expect(info).toMatch(/Max Price:\s+\$5\/month/);
    expect(info).toMatch(new RegExp(`Attachments:\\s+${owner}::DATABASE`));
    expect(info).toMatch(new RegExp(`Owning app:\\s+${owner}`));
    expect(info).toMatch(/State:\s+created/);

    const listed = await heroku('addons', '-a', owner);
    expect(listed).toMatch(new RegExp(`postgresql \\(${name}\\)\\s+essential-0\\s+~\\$0\\.007/hour\\s+\\$5/month\\s+created`));
    expect(listed).toContain('as DATABASE');

    const url = (await heroku('config:get', 'DATABASE_URL', '-a', owner)).trim();
    expect(url).toBe((await attache.configVars(apiKey, owner)).DATABASE_URL);
    const session = await psql(
      url,
      'CREATE TABLE notes (id int PRIMARY KEY, body text)',
      "INSERT INTO notes VALUES (1, 'hello'), (2, 'from the cli')",
      'SELECT id, body FROM notes ORDER BY id',
    );
    expect(session.code).toBe(0);
    expect(session.output).toContain('CREATE TABLE');
    expect(session.output).toContain('INSERT 0 2');
    expect(session.output).toMatch(/1\s+\|\s+hello\n\s*2\s+\|\s+from the cli\n\(2 rows\)/);

    const pgInfo = await attache.client(apiKey).get(`/addons/${name}/postgres`);
    expect(pgInfo.status).toBe(200);
    expect(pgInfo.body).toMatchObject({ plan: { name: 'postgresql:essential-0' }, status: 'available', tables: 1 });
  });

  it('upgrades a database to essential-1 and keeps its data', async () => {
    const { attache, apiKey } = suite;
    const { owner } = await newApps('pg-upgrade');
    const database = await newDatabase(owner);
    expect((await psql(database.url, 'CREATE TABLE kept (v text)', "INSERT INTO kept VALUES ('still here')")).code).toBe(0);

    const upgraded = await heroku('addons:upgrade', database.name, 'essential-1', '-a', owner);
    expect(upgraded).toContain(`Changing ${database.name} on ${owner} from postgresql:essential-0 to postgresql:essential-1... done, ~$0.013/hour (max $9/month)`);

    await attache.waitForAddon(apiKey, database.id, (addon) => addon.state === 'provisioned' && (addon.plan as { name: string }).name === 'postgresql:essential-1');
    const pgInfo = await attache.client(apiKey).get(`/addons/${database.id}/postgres`);
    expect(pgInfo.body).toMatchObject({ plan: { name: 'postgresql:essential-1' }, storage: { limit_bytes: 10 * 1024 ** 3 } });
    expect((await attache.configVars(apiKey, owner)).DATABASE_URL).toBe(database.url);
    const read = await psql(database.url, 'SELECT v FROM kept');
    expect(read.code).toBe(0);
    expect(read.output).toMatch(/still here\n\(1 row\)/);
  });

  it('shares a database with another app, with the default and with a named credential', async () => {
    const { attache, apiKey } = suite;
    const { owner, other } = await newApps('pg-share');
    const database = await newDatabase(owner);

    const shared = await heroku('addons:attach', database.name, '-a', other, '--as', 'SHARED_DB');
    expect(shared).toContain(`Attaching ${database.name} as SHARED_DB to ${other}... done`);
    expect(shared).toMatch(new RegExp(`Setting SHARED_DB config vars and restarting ${other}\\.\\.\\. done, v\\d+`));
    expect((await heroku('config:get', 'SHARED_DB_URL', '-a', other)).trim()).toBe(database.url);

    const credential = await attache.client(apiKey).post(`/addons/${database.id}/postgres/credentials`).send({ name: 'analyst' });
    expect(credential.status).toBe(201);
    const analyst = credential.body as { username: string; url: string };
    expect(analyst.username).not.toBe(new URL(database.url).username);

    const scoped = await heroku('addons:attach', database.name, '-a', other, '--credential', 'analyst', '--as', 'WAREHOUSE');
    expect(scoped).toContain(`Attaching analyst of ${database.name} as WAREHOUSE to ${other}... done`);
    const warehouse = (await heroku('config:get', 'WAREHOUSE_URL', '-a', other)).trim();
    expect(new URL(warehouse).username).toBe(analyst.username);
    expect(warehouse).toBe(analyst.url);
    // The named credential can connect and, until granted rights, do nothing more.
    const probe = await psql(warehouse, 'SELECT current_user');
    expect(probe.code).toBe(0);
    expect(probe.output).toContain(analyst.username);

    const listed = await heroku('addons', '-a', other);
    expect(listed).toMatch(new RegExp(`postgresql \\(${database.name}\\)\\s+essential-0\\s+\\(billed to ${owner} app\\)`));
    expect(listed).toContain('as WAREHOUSE');
    const attachments = await attache.client(apiKey).get(`/apps/${other}/addon-attachments`);
    expect(attachments.body.map((a: { name: string; namespace: string | null }) => [a.name, a.namespace]).sort()).toEqual([
      ['SHARED_DB', null],
      ['WAREHOUSE', 'credential:analyst'],
    ]);
  });

  it('detaches a shared database, then destroys it and its database on the cluster', async () => {
    const { attache, apiKey } = suite;
    const { owner, other } = await newApps('pg-destroy');
    const database = await newDatabase(owner);
    const attached = await attache.client(apiKey).post('/addon-attachments').send({ addon: { name: database.name }, app: { name: other }, name: 'SHARED_DB' });
    expect(attached.status).toBe(201);

    expect(await heroku('addons:detach', 'SHARED_DB', '-a', other)).toMatch(new RegExp(`Unsetting SHARED_DB config vars and restarting ${other}\\.\\.\\. done, v\\d+`));
    expect((await attache.configVars(apiKey, other)).SHARED_DB_URL).toBeUndefined();

    const destroyed = await heroku('addons:destroy', database.name, '-a', owner, '--confirm', owner);
    // Deprovisioning runs in the worker, so the CLI reports it as pending (no --wait: it polls every 5 s).
    expect(destroyed).toContain(`Destroying ${database.name} on ${owner}... pending`);
    expect(destroyed).toContain(`${database.name} is being destroyed in the background.`);
    await attache.waitForAddonGone(apiKey, database.id);
    expect((await attache.configVars(apiKey, owner)).DATABASE_URL).toBeUndefined();

    const names = tenantNames(database.id);
    const cluster = localPostgresClusters().find((c) => c.port === Number(new URL(database.url).port));
    expect(cluster).toBeDefined();
    const admin = new Client({ host: cluster!.host, port: cluster!.port, user: cluster!.user, password: cluster!.password, database: 'postgres' });
    await admin.connect();
    try {
      await attache.waitUntil('the tenant database to be dropped', async () => {
        const left = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [names.database]);
        return left.rowCount === 0 ? true : undefined;
      });
      const roles = await admin.query('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [[names.ownerRole, names.groupRole]]);
      expect(roles.rows).toEqual([]);
    } finally {
      await admin.end();
    }
    expect((await psql(database.url, 'SELECT 1')).code).not.toBe(0);
  });
});

/** psql with a clean environment (no PG* variables, no psqlrc), each statement as its own -c. */
function psql(url: string, ...statements: string[]): Promise<Psql> {
  const args = [url, '-X', '-v', 'ON_ERROR_STOP=1', ...statements.flatMap((s) => ['-c', s])];
  return new Promise((resolve, reject) => {
    execFile('psql', args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' }, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? Number(error.code) : 0, output: stdout + stderr });
    });
  });
}

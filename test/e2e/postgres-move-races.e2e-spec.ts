import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Server, createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { QUEUES, jobIds, redisConnection } from '@app/queues';
import { pgMoveLockName } from '@app/provisioners';
import { machineLockAddress } from '../../libs/provisioners/src/postgres/machine-lock';
import { MovedAddonBody, PgMoveFixture } from '../support/postgres-move-fixture';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MOVE = 'postgresql:standard-0';

/** Holds a lock of the machine's (as another worker would), until the returned function is called. */
async function holdMachineLock(name: string): Promise<() => Promise<void>> {
  for (;;) {
    const server: Server = createServer();
    const bound = await new Promise<boolean>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(false) : reject(error)));
      server.listen(machineLockAddress(name), () => resolve(true));
    });
    if (bound) return () => new Promise<void>((resolve) => server.close(() => resolve()));
    await sleep(50);
  }
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/**
 * The races of a shared→dedicated PostgreSQL move on real clusters: nothing else changes the
 * shared database while its copy is checked and until it is dropped (credentials, restores), the
 * move waits for those under way, and a destroy in any order leaves nothing behind.
 */
describe('PostgreSQL move from a shared plan: credentials, restores and destroys meanwhile', () => {
  let fixture: PgMoveFixture;
  let planChanges: Queue;

  beforeAll(async () => {
    // Ports of its own per jest worker, in the block kept for this suite (12500-12999).
    const worker = (Number(process.env.JEST_WORKER_ID ?? '1') - 1) % 8;
    fixture = await PgMoveFixture.start(12_500 + worker * 60 + randomInt(0, 2) * 30);
    planChanges = new Queue(QUEUES.planChange, { connection: redisConnection(fixture.attache.config), prefix: fixture.attache.config.queues.prefix });
  });

  afterEach(async () => {
    await fixture.endClients();
  });

  afterAll(async () => {
    await planChanges?.close();
    await fixture?.stop();
  });

  const api = () => fixture.api();

  /** A shared add-on whose database holds a `notes` table with one row. */
  async function addonWithNotes(alias: string, note: string) {
    const addon = await fixture.provision(alias);
    await (await fixture.connect(addon.url)).query(`CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) VALUES ('${note}')`);
    return addon;
  }

  /** Asks for the move now, and checks it went through: on the dedicated plan, its rows at its alias, nothing left on the shared cluster. */
  async function expectMoved(addonId: string, alias: string, rows: string[]): Promise<void> {
    expect((await fixture.changePlan(addonId, MOVE)).status).toBe(200);
    await expectSettledMoved(addonId, alias, rows);
  }

  async function expectSettledMoved(addonId: string, alias: string, rows: string[]): Promise<void> {
    const moved = await fixture.settled(addonId);
    expect({ plan: moved.plan.name, error: moved.plan_change_error }).toEqual({ plan: MOVE, error: null });
    expect(await fixture.notes(await fixture.urlOf(alias))).toEqual(rows);
    await fixture.expectSharedGone(addonId);
  }

  async function captureBackup(addonId: string): Promise<{ id: string; name: string }> {
    const captured = await api().post(`/addons/${addonId}/postgres/backups`);
    expect(captured.status).toBe(202);
    return fixture.attache.waitUntil(
      'the backup',
      async () => {
        const backup = await api().get(`/addons/${addonId}/postgres/backups/${captured.body.id}`);
        if (backup.body.state === 'failed') throw new Error(`backup failed: ${JSON.stringify(backup.body)}`);
        return backup.body.state === 'completed' ? { id: backup.body.id as string, name: backup.body.name as string } : undefined;
      },
      60_000,
    );
  }

  /** Every change to the shared database a developer can ask for, each answered 409 with the move's name. */
  async function expectChangesRefused(addon: { id: string; name: string }, backup: string): Promise<void> {
    const base = `/addons/${addon.id}/postgres`;
    const attempts = {
      'create a credential': await api().post(`${base}/credentials`).send({ name: 'analyst' }),
      'rotate every credential': await api().post(`${base}/credentials/rotate`),
      'rotate the default credential': await api().post(`${base}/credentials/default/rotate`),
      'destroy a credential': await api().delete(`${base}/credentials/analyst`),
      restore: await api().post(`${base}/restores`).send({ backup, confirm: fixture.app.name }),
    };
    const answers = Object.fromEntries(Object.entries(attempts).map(([what, response]) => [what, { status: response.status, body: response.body }]));
    const refused = (what: string) => ({ status: 409, body: { id: 'plan_change_in_progress', message: `${addon.name} is moving to ${MOVE}; ${what} once the move has finished.` } });
    expect(answers).toEqual({
      'create a credential': refused('its credentials can change'),
      'rotate every credential': refused('its credentials can change'),
      'rotate the default credential': refused('its credentials can change'),
      'destroy a credential': refused('its credentials can change'),
      restore: refused('it can be restored into'),
    });
  }

  /** The add-on's first plan change job is done (jobs are removed once finished). */
  async function planChangeFinished(addonId: string): Promise<void> {
    await fixture.attache.waitUntil('the plan change job to finish', async () => ((await planChanges.getJob(jobIds.planChange(addonId, 1))) ? undefined : true), 120_000);
  }

  /**
   * The add-on is gone and so is everything a move made for it: its cluster's processes, data
   * directory and archive (the record removed, then purged), and every port of the range is free
   * but those of live clusters; the shared database and its roles are dropped.
   */
  async function expectNothingLeft(addonId: string): Promise<void> {
    const deprovisioned = async () => (await fixture.attache.pg.query("SELECT 1 FROM addons WHERE id = $1 AND state = 'deprovisioned'", [addonId])).rowCount;
    await fixture.attache.waitUntil('the add-on to be deprovisioned', async () => ((await deprovisioned()) ? true : undefined), 60_000);
    await planChangeFinished(addonId);
    const cluster = await fixture.attache.waitUntil(
      'the cluster to be removed and its archive purged',
      async () => {
        const { rows } = await fixture.attache.pg.query<{ key: string; state: string; port: number | null }>('SELECT key, state, port FROM postgres_dedicated_clusters WHERE addon_id = $1', [addonId]);
        return rows.length === 0 || rows[0].state === 'purged' ? (rows[0] ?? null) : undefined;
      },
      60_000,
    );
    if (cluster) {
      expect(cluster).toEqual({ key: cluster.key, state: 'purged', port: null });
      expect(existsSync(join(fixture.root, cluster.key))).toBe(false);
      const processes = (() => {
        try {
          return execFileSync('pgrep', ['-f', join(fixture.root, cluster.key)], { encoding: 'utf8' }).trim();
        } catch {
          return ''; // pgrep exits 1 when nothing matches
        }
      })();
      expect(processes).toBe('');
    }
    const live = new Set((await fixture.attache.pg.query<{ port: number }>("SELECT port FROM postgres_dedicated_clusters WHERE state = 'active' AND port IS NOT NULL")).rows.map((r) => r.port));
    const held: number[] = [];
    for (let port = fixture.portMin; port < fixture.portMin + 30; port++) if (!live.has(port) && (await listening(port))) held.push(port);
    expect(held).toEqual([]);
    await fixture.expectSharedGone(addonId);
  }

  it('refuses credential changes and restores while a move is under way, before and after its switch, and makes none of them', async () => {
    const addon = await addonWithNotes('GUARDED', 'guarded');
    const backup = await captureBackup(addon.id);

    // Asked for, the move waiting for its lock (as for a move of the add-on in another worker).
    const releaseMove = await holdMachineLock(pgMoveLockName(addon.id));
    expect((await fixture.changePlan(addon.id, MOVE)).status).toBe(200);
    await expectChangesRefused(addon, backup.name);
    await releaseMove();

    // Switched: on the dedicated plan, the change still pending until the shared database is
    // dropped, which waits for the lock taken here while the switch waits for the add-on's row.
    const held = await fixture.holdTheSwitch(addon.id);
    const releaseDrop = await holdMachineLock(pgMoveLockName(addon.id));
    await held.release();
    const switched = (await fixture.attache.waitForAddon(fixture.dev.apiKey, addon.id, (a) => (a as unknown as MovedAddonBody).plan.name === MOVE, 60_000)) as unknown as MovedAddonBody;
    expect(switched.pending_plan).toEqual(expect.objectContaining({ name: MOVE }));
    await expectChangesRefused(addon, backup.name);
    await releaseDrop();

    await expectSettledMoved(addon.id, 'GUARDED', ['guarded']);
    const credentials = await fixture.attache.pg.query('SELECT name FROM postgres_credentials WHERE addon_id = $1 ORDER BY name', [addon.id]);
    const restores = await fixture.attache.pg.query('SELECT id FROM postgres_restores WHERE addon_id = $1', [addon.id]);
    expect({ credentials: credentials.rows, restores: restores.rows }).toEqual({ credentials: [{ name: 'default' }], restores: [] });
  });

  it('refuses a move while a restore into the add-on is running, and moves the restored data once it has finished', async () => {
    const addon = await addonWithNotes('RESTORED', 'in the backup');
    const backup = await captureBackup(addon.id);
    await (await fixture.connect(addon.url)).query("INSERT INTO notes (body) VALUES ('after the backup')");
    // The restore replaces `notes`, so it waits for this lock.
    const blocker = await fixture.sharedSuperuser(addon.id);
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE notes IN ACCESS SHARE MODE');

    const restore = await api().post(`/addons/${addon.id}/postgres/restores`).send({ backup: backup.name, confirm: fixture.app.name });
    expect(restore.status).toBe(202);
    const state = async () => (await api().get(`/addons/${addon.id}/postgres/restores/${restore.body.id}`)).body.state as string;
    await fixture.attache.waitUntil('the restore to run', async () => ((await state()) === 'running' ? true : undefined), 30_000);

    const refused = await fixture.changePlan(addon.id, MOVE);
    expect({ status: refused.status, body: refused.body }).toEqual({
      status: 409,
      body: { id: 'restore_in_progress', message: `${addon.name} is being restored from a backup; move it to ${MOVE} once the restore has finished.` },
    });
    const still = (await fixture.attache.waitForAddon(fixture.dev.apiKey, addon.id, () => true)) as unknown as MovedAddonBody;
    expect({ plan: still.plan.name, pending: still.pending_plan }).toEqual({ plan: 'postgresql:essential-0', pending: null });

    await blocker.query('COMMIT');
    await fixture.attache.waitUntil('the restore to finish', async () => ((await state()) === 'completed' ? true : undefined), 60_000);
    await expectMoved(addon.id, 'RESTORED', ['in the backup']);
  });

  it('refuses a move while a destroyed credential’s role is still being dropped, and moves once it is gone', async () => {
    const addon = await addonWithNotes('CREDENTIALED', 'credentialed');
    const created = await api().post(`/addons/${addon.id}/postgres/credentials`).send({ name: 'analyst' });
    expect(created.status).toBe(201);
    await (await fixture.connect(addon.url)).query(`GRANT USAGE, CREATE ON SCHEMA public TO "${created.body.username}"`);
    await (await fixture.connect(created.body.url)).query('CREATE TABLE scratch (v text)');
    // Dropping the role hands its table to the tenant's group first, which waits for this lock.
    const blocker = await fixture.sharedSuperuser(addon.id);
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE scratch IN ACCESS SHARE MODE');

    const destroying = api().delete(`/addons/${addon.id}/postgres/credentials/analyst`).then((response) => response);
    await fixture.attache.waitUntil(
      'the credential to be destroyed',
      async () => ((await fixture.attache.pg.query("SELECT 1 FROM postgres_credentials WHERE addon_id = $1 AND name = 'analyst' AND state = 'destroyed'", [addon.id])).rowCount ? true : undefined),
      30_000,
    );
    const refused = await fixture.changePlan(addon.id, MOVE);
    expect({ status: refused.status, body: refused.body }).toEqual({
      status: 409,
      body: { id: 'credential_change_in_progress', message: `${addon.name} has a credential change under way (analyst); move it to ${MOVE} once that has finished.` },
    });

    await blocker.query('COMMIT');
    expect((await destroying).status).toBe(200);
    await expectMoved(addon.id, 'CREDENTIALED', ['credentialed']);
  });

  it('leaves nothing behind when the add-on is destroyed before its move has recorded a cluster', async () => {
    const addon = await addonWithNotes('DOOMED', 'doomed');
    // Placing the move's cluster locks the hosts' rows: the move waits here, before anything is recorded.
    const hosts = await fixture.connect(fixture.attache.env.DATABASE_URL);
    await hosts.query('BEGIN');
    await hosts.query('SELECT name FROM postgres_dedicated_hosts FOR UPDATE');
    const holder = (await hosts.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;

    expect((await fixture.changePlan(addon.id, MOVE)).status).toBe(200);
    await fixture.attache.waitUntil('the move to wait for the hosts', async () => ((await fixture.blockedBy(holder)).some((b) => b.query.includes('postgres_dedicated_hosts')) ? true : undefined), 60_000);
    expect((await api().delete(`/apps/${fixture.app.name}/addons/${addon.id}`)).status).toBe(200);
    // Whether its deprovision ran meanwhile or waits, the move now records and starts its cluster.
    await hosts.query('ROLLBACK');

    await expectNothingLeft(addon.id);
  });

  it('leaves nothing behind when the add-on is destroyed as its move switches', async () => {
    const addon = await addonWithNotes('DOOMED_LATE', 'doomed late');
    expect((await fixture.changePlan(addon.id, MOVE)).status).toBe(200);
    const held = await fixture.holdTheSwitch(addon.id);
    // The destroy waits for the add-on's row as the switch does; either may have it first.
    const destroying = api()
      .delete(`/apps/${fixture.app.name}/addons/${addon.id}`)
      .then((response) => response);
    const waitingAfterTheSwitch = async () => (await fixture.blockedBy(held.waiting)).length + (await fixture.blockedBy(held.holder)).filter((b) => b.pid !== held.waiting).length;
    await fixture.attache.waitUntil('the destroy to wait for the add-on', async () => ((await waitingAfterTheSwitch()) > 0 ? true : undefined), 30_000);
    await held.release();
    expect((await destroying).status).toBe(200);

    await expectNothingLeft(addon.id);
  });
});

import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { QUEUES, jobIds, redisConnection } from '@app/queues';
import { PgMoveFixture } from '../support/postgres-move-fixture';

const MOVE = 'postgresql:standard-0';

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/** The races of a shared→dedicated PostgreSQL move on real clusters: a destroy in any order leaves nothing behind. */
describe('PostgreSQL move from a shared plan: destroys meanwhile', () => {
  let fixture: PgMoveFixture;
  let planChanges: Queue;

  beforeAll(async () => {
    // Ports of its own per jest worker, in the block kept for this suite (36000-36999).
    const worker = (Number(process.env.JEST_WORKER_ID ?? '1') - 1) % 8;
    fixture = await PgMoveFixture.start(36_000 + worker * 60 + randomInt(0, 2) * 30);
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

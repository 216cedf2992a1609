import { randomInt } from 'node:crypto';
import { MovedAddonBody, PgMoveFixture } from '../support/postgres-move-fixture';
import { WorkerProcess } from '../support/worker-process';

/**
 * Moving a shared-plan PostgreSQL add-on to a dedicated plan (docs/postgresql.md) on real clusters:
 * the copy's window is checked, so a tenant writing through it loses nothing; the shared database
 * is dropped only once the add-on's switch has committed, so a crash between the copy and the
 * switch leaves the data where it was and a retry finishes; no other plan change runs meanwhile.
 */
describe('PostgreSQL move from a shared plan to a dedicated one', () => {
  let fixture: PgMoveFixture;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    // Ports of its own per jest worker, in the block kept for this suite (12000-12499).
    const worker = (Number(process.env.JEST_WORKER_ID ?? '1') - 1) % 8;
    fixture = await PgMoveFixture.start(12_000 + worker * 60 + randomInt(0, 2) * 30);
  });

  afterEach(async () => {
    await fixture.endClients();
    await Promise.allSettled(workers.splice(0).map((w) => w.kill()));
  });

  afterAll(async () => {
    await fixture?.stop();
  });

  const connect = (url: string) => fixture.connect(url);
  const provision = (alias: string) => fixture.provision(alias);
  const urlOf = (alias: string) => fixture.urlOf(alias);
  const changePlan = (addonId: string, plan: string) => fixture.changePlan(addonId, plan);
  const settled = (addonId: string) => fixture.settled(addonId);
  const notes = (url: string) => fixture.notes(url);
  const sharedAdmin = (addonId: string) => fixture.sharedAdmin(addonId);
  const expectSharedGone = (addonId: string) => fixture.expectSharedGone(addonId);
  const holdTheSwitch = (addonId: string) => fixture.holdTheSwitch(addonId);

  it('keeps every acknowledged write of a tenant that turns read-only off during the copy: the move is refused and the database stays writable; a quiet retry moves it all', async () => {
    const addon = await provision('WRITER');
    await (await connect(addon.url)).query('CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)');

    // A tenant that ignores the window: every session turns read-only off, then inserts, until told to stop.
    const writer = fixture.writeDefiantly(addon.url);

    expect((await changePlan(addon.id, 'postgresql:standard-0')).status).toBe(200);
    const refused = await settled(addon.id);
    await writer.stop();
    expect({ plan: refused.plan.name, error: refused.plan_change_error }).toEqual({
      plan: 'postgresql:essential-0',
      error: expect.stringMatching(/was written to while its data was being copied .*stays on postgresql:essential-0, writable, with every write/),
    });
    expect(writer.inWindow()).toBeGreaterThan(0);
    await fixture.expectNoClusterLeft(addon.id);
    expect(await urlOf('WRITER')).toBe(addon.url);
    const fresh = await connect(addon.url);
    expect((await fresh.query('SHOW default_transaction_read_only')).rows).toEqual([{ default_transaction_read_only: 'off' }]);
    await fresh.query("INSERT INTO notes (body) VALUES ('after the refusal')");
    const kept = [...writer.acknowledged, 'after the refusal'];
    expect(await notes(addon.url)).toEqual(expect.arrayContaining(kept));

    // Nothing writes now: the move goes through, with every write, and the shared database goes.
    expect((await changePlan(addon.id, 'postgresql:standard-0')).status).toBe(200);
    const moved = await settled(addon.id);
    expect({ plan: moved.plan.name, error: moved.plan_change_error }).toEqual({ plan: 'postgresql:standard-0', error: null });
    const newUrl = await urlOf('WRITER');
    expect(newUrl).not.toBe(addon.url);
    expect(await notes(newUrl)).toEqual(expect.arrayContaining(kept));
    await expect(connect(addon.url)).rejects.toThrow();
    await expectSharedGone(addon.id);
  });

  it('refuses another plan change while a move is under way, then finishes the move', async () => {
    const addon = await provision('BUSY');
    await (await connect(addon.url)).query("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) VALUES ('busy')");

    expect((await changePlan(addon.id, 'postgresql:standard-0')).status).toBe(200);
    for (const plan of ['postgresql:standard-1', 'postgresql:essential-0', 'postgresql:essential-1']) {
      const again = await changePlan(addon.id, plan);
      expect({ plan, status: again.status, body: again.body }).toEqual({
        plan,
        status: 409,
        body: { id: 'plan_change_in_progress', message: `${addon.name} is moving to postgresql:standard-0; its plan can be changed again once the move has finished.` },
      });
    }
    // The same target again is no new change.
    expect((await changePlan(addon.id, 'postgresql:standard-0')).status).toBe(200);

    const moved = await settled(addon.id);
    expect({ plan: moved.plan.name, error: moved.plan_change_error }).toEqual({ plan: 'postgresql:standard-0', error: null });
    expect(await notes(await urlOf('BUSY'))).toEqual(['busy']);
    await expectSharedGone(addon.id);
  });

  it('survives an error between the copy and the switch: the shared database keeps the data, closed to writes, and the retry moves it', async () => {
    const addon = await provision('RETRIED');
    await (await connect(addon.url)).query("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) VALUES ('retried')");

    expect((await changePlan(addon.id, 'postgresql:standard-0')).status).toBe(200);
    const held = await holdTheSwitch(addon.id);
    // Copied and checked; the old URL takes no session that could write what the copy would miss.
    await expect(connect(addon.url)).rejects.toThrow(/too many connections|connection limit/);
    // The worker's switch fails (its connection is cut) and the job is retried.
    await fixture.attache.pg.query('SELECT pg_terminate_backend($1)', [held.waiting]);
    await held.release();

    const moved = await settled(addon.id);
    expect({ plan: moved.plan.name, error: moved.plan_change_error }).toEqual({ plan: 'postgresql:standard-0', error: null });
    expect(await notes(await urlOf('RETRIED'))).toEqual(['retried']);
    await expectSharedGone(addon.id);
  });

  it('gives up when every attempt fails at the switch: the add-on stays on its shared plan, its database open, writable and whole', async () => {
    const addon = await provision('GIVEN_UP');
    await (await connect(addon.url)).query("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) VALUES ('kept')");

    expect((await changePlan(addon.id, 'postgresql:standard-0')).status).toBe(200);
    // PROVIDER_MAX_ATTEMPTS is 3 in the harness: each attempt copies, seals, and fails to commit.
    for (let attempt = 1; attempt <= 3; attempt++) {
      const held = await holdTheSwitch(addon.id);
      await fixture.attache.pg.query('SELECT pg_terminate_backend($1)', [held.waiting]);
      await held.release();
    }

    const failed = await settled(addon.id);
    expect({ plan: failed.plan.name, error: failed.plan_change_error }).toEqual({ plan: 'postgresql:essential-0', error: expect.stringMatching(/could not complete this after 3 attempts/) });
    await fixture.expectNoClusterLeft(addon.id);
    expect(await urlOf('GIVEN_UP')).toBe(addon.url);
    const db = await connect(addon.url);
    expect((await db.query('SHOW default_transaction_read_only')).rows).toEqual([{ default_transaction_read_only: 'off' }]);
    await db.query("INSERT INTO notes (body) VALUES ('written after')");
    expect(await notes(addon.url)).toEqual(['kept', 'written after']);
    const { client: admin, database } = await sharedAdmin(addon.id);
    expect((await admin.query('SELECT datconnlimit FROM pg_database WHERE datname = $1', [database])).rows).toEqual([{ datconnlimit: 20 }]);
  });

  it('survives a SIGKILL of the worker between the copy and the switch: the data stays on the shared database and a new worker finishes the move', async () => {
    const addon = await provision('KILLED');
    await (await connect(addon.url)).query("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) VALUES ('killed')");
    await fixture.attache.stopWorker();
    const worker = await WorkerProcess.start({ env: { ...fixture.attache.env, LOG_LEVEL: process.env.ATTACHE_TEST_LOG_LEVEL ?? 'warn' } });
    workers.push(worker);

    expect((await changePlan(addon.id, 'postgresql:standard-0')).status).toBe(200);
    const held = await holdTheSwitch(addon.id);
    await worker.kill();
    await held.release();

    // Between the copy and the switch: still on the shared plan, its URL and database as they were, the data there.
    const between = (await fixture.attache.waitForAddon(fixture.dev.apiKey, addon.id, () => true)) as unknown as MovedAddonBody;
    expect({ plan: between.plan.name, pending: between.pending_plan }).toEqual({ plan: 'postgresql:essential-0', pending: expect.objectContaining({ name: 'postgresql:standard-0' }) });
    expect(await urlOf('KILLED')).toBe(addon.url);
    const shared = await fixture.sharedSuperuser(addon.id);
    expect((await shared.query('SELECT body FROM notes')).rows).toEqual([{ body: 'killed' }]);

    await fixture.attache.startWorker();
    const moved = await settled(addon.id);
    expect({ plan: moved.plan.name, error: moved.plan_change_error }).toEqual({ plan: 'postgresql:standard-0', error: null });
    expect(await notes(await urlOf('KILLED'))).toEqual(['killed']);
    await expectSharedGone(addon.id);
  });
});

import { createHash } from 'node:crypto';
import { RecordedVendorCall, ScriptedVendor } from '@app/testing';
import { AttacheHarness } from '../support/attache-harness';
import { WorkerProcess } from '../support/worker-process';

const APPS = 4;
const ADDONS_PER_APP = 5;
/** Every vendor reply takes this long, so provision calls are still open when the worker dies. */
const VENDOR_DELAY_MS = 1_500;
/** Small enough that the add-ons are provisioned in several waves, so a kill lands mid-way. */
const WORKER_CONCURRENCY = 4;
/** The kill comes as this POST arrives: the first wave is done, the second in flight, the rest queued. */
const KILL_AT_POST = WORKER_CONCURRENCY + 2;
/** Recovery needs the dead worker's locks to expire (WORKER_LOCK_MS) and two stalled checks; generous. */
const RECOVERY_TIMEOUT_MS = 30_000;

interface CreatedAddon {
  id: string;
  name: string;
  app: string;
  /** The owning attachment's var, `<ALIAS>_URL`. */
  configVar: string;
}

const until = async <T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, context = () => ''): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms; last: ${JSON.stringify(value)}${context()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

/**
 * DESIGN §3, "a crash at any point loses nothing and leaves no orphan", with a real crash: the
 * worker runs as its own process (`node bin/run.js worker`) and is SIGKILLed while provision
 * calls to a slow vendor are open. Recovery rests on BullMQ's stalled-job detection (the dead
 * worker's locks expire after WORKER_LOCK_MS) and on the reconciler.
 */
describe('worker crash during provisioning', () => {
  let attache: AttacheHarness;
  let vendor: ScriptedVendor;
  let slug: string;
  let dev: { apiKey: string };
  const workers: WorkerProcess[] = [];

  /** What the vendor answers for `uuid`, always the same: it is idempotent on uuid (DESIGN §4.2). */
  const providerUrl = (uuid: string) => `https://mail.example.test/${uuid}?token=${createHash('sha256').update(uuid).digest('hex').slice(0, 24)}`;

  const startWorker = async () => {
    // The harness's own configuration, except that the child logs warnings: they are kept in
    // memory and shown only when the test fails.
    const worker = await WorkerProcess.start({ env: { ...attache.env, LOG_LEVEL: process.env.ATTACHE_TEST_LOG_LEVEL ?? 'warn' } });
    workers.push(worker);
    return worker;
  };
  const workerOutput = () =>
    workers.map((w, i) => `\n--- worker ${i + 1} (pid ${w.pid}, ${w.status}) output:\n${w.recentOutput}`).join('');
  const explained = async <T>(promise: Promise<T>): Promise<T> => {
    try {
      return await promise;
    } catch (error) {
      throw new Error(`${(error as Error).message}${workerOutput()}`);
    }
  };
  const states = async (ids: string[]) => {
    const result = await attache.pg.query<{ id: string; state: string }>('SELECT id, state FROM addons WHERE id = ANY($1::uuid[])', [ids]);
    return Object.fromEntries(result.rows.map((row) => [row.id, row.state]));
  };
  const posts = (calls: RecordedVendorCall[] = vendor.calls) => calls.filter((call) => call.method === 'POST');

  beforeAll(async () => {
    attache = await AttacheHarness.start({
      worker: false,
      // A timeout well above the vendor's delay, so a loaded machine does not add retries of its own.
      env: { WORKER_CONCURRENCY: String(WORKER_CONCURRENCY), PROVIDER_TIMEOUT_MS: String(VENDOR_DELAY_MS * 5) },
    });
    ({ vendor, slug } = await attache.startVendor('crashmail', { api: { requires: ['attachable', 'many_per_app'] } }));
    // The default POST reply already depends only on the uuid; add the delay and a per-uuid secret.
    vendor.onProvision((call) => ({
      status: 200,
      delayMs: VENDOR_DELAY_MS,
      body: { id: `res-${call.uuid}`, config: { [vendor.configVar]: providerUrl(call.uuid) }, message: 'ok' },
    }));
    dev = await attache.createAccount();
  });

  afterAll(async () => {
    for (const worker of workers) await worker.kill();
    await attache?.stop();
  });

  it('finishes every provision after a SIGKILL, once per add-on, with exact config vars; destroys still work after', async () => {
    const apps = [];
    for (let i = 0; i < APPS; i++) apps.push(await attache.createApp(dev.apiKey));
    const addons: CreatedAddon[] = [];
    for (let round = 0; round < ADDONS_PER_APP; round++) {
      for (const app of apps) {
        const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${slug}:basic` });
        expect(created.status).toBe(201);
        expect(created.body.state).toBe('provisioning');
        expect(created.body.config_vars).toHaveLength(1);
        addons.push({ id: created.body.id, name: created.body.name, app: app.name, configVar: created.body.config_vars[0] });
      }
    }
    const ids = addons.map((a) => a.id);
    expect(new Set(addons.map((a) => `${a.app} ${a.configVar}`)).size).toBe(addons.length);

    // Crash mid-way: the first wave is provisioned, the second has reached the vendor, the rest wait.
    const first = await startWorker();
    await explained(vendor.waitForCalls((calls) => posts(calls).length >= KILL_AT_POST, 20_000));
    await first.kill();
    expect(first.running).toBe(false);
    const killedAt = Date.now();
    const atKill = await states(ids);
    const postedAtKill = new Set(posts().map((call) => call.uuid));
    // Posted but not provisioned: the vendor made the resource, Attache never heard back.
    const interrupted = ids.filter((id) => postedAtKill.has(id) && atKill[id] === 'provisioning');
    expect(interrupted.length).toBeGreaterThan(0);
    expect(postedAtKill.size).toBeLessThan(addons.length);
    expect(Object.values(atKill).filter((state) => state === 'provisioned').length).toBeLessThan(addons.length);

    // Restart and wait for every add-on to settle; then check that each settled well.
    const second = await startWorker();
    const settled = await until(
      'every add-on reaching a final state',
      () => states(ids),
      (current) => ids.every((id) => current[id] === 'provisioned' || current[id] === 'deprovisioned'),
      RECOVERY_TIMEOUT_MS,
      workerOutput,
    );
    const recoveredInMs = Date.now() - killedAt;
    expect(settled).toEqual(Object.fromEntries(ids.map((id) => [id, 'provisioned'])));
    expect(second.running).toBe(true);

    for (const addon of addons) {
      const shown = await attache.client(dev.apiKey).get(`/addons/${addon.id}`);
      expect(shown.status).toBe(200);
      expect(shown.body).toMatchObject({ id: addon.id, state: 'provisioned', provider_id: `res-${addon.id}`, config_vars: [addon.configVar] });
    }

    // The vendor: every add-on at least once (calls the crash cut off were sent again), nothing unknown.
    const calls = vendor.calls;
    expect(calls.every((call) => call.authorized && call.method === 'POST')).toBe(true);
    const postsByUuid = new Map<string, RecordedVendorCall[]>();
    for (const call of calls) postsByUuid.set(call.uuid, [...(postsByUuid.get(call.uuid) ?? []), call]);
    expect([...postsByUuid.keys()].sort()).toEqual([...ids].sort());
    for (const addon of addons) {
      for (const call of postsByUuid.get(addon.id)!) expect(call.body).toMatchObject({ uuid: addon.id, name: addon.name, plan: 'basic' });
    }
    for (const id of interrupted) expect(postsByUuid.get(id)!.length).toBeGreaterThanOrEqual(2);
    const repeated = [...postsByUuid.values()].filter((list) => list.length > 1).length;
    const retriedAfterMs = Math.max(...interrupted.map((id) => postsByUuid.get(id)![1].at - killedAt));

    // Config vars: exactly one var per add-on on its app, with the value the vendor returned.
    for (const app of apps) {
      const expected = Object.fromEntries(addons.filter((a) => a.app === app.name).map((a) => [a.configVar, providerUrl(a.id)]));
      expect(await attache.configVars(dev.apiKey, app.name)).toEqual(expected);
    }

    // One provisioned event per add-on, no failure, however often the job ran.
    for (const id of ids) {
      const events = await attache.events(id);
      expect(events.filter((type) => type === 'addon.provisioned')).toHaveLength(1);
      expect(events).not.toContain('addon.provision_failed');
    }

    // Destroys handled by the restarted worker: 404, the vendor gets a DELETE, the vars go.
    const destroyed = apps.slice(0, 3).map((app) => addons.find((a) => a.app === app.name)!);
    for (const addon of destroyed) {
      const response = await attache.client(dev.apiKey).delete(`/apps/${addon.app}/addons/${addon.id}`);
      expect(response.status).toBe(200);
    }
    for (const addon of destroyed) {
      await until(
        `${addon.name} answering 404`,
        async () => (await attache.client(dev.apiKey).get(`/addons/${addon.id}`)).status,
        (status) => status === 404,
        15_000,
        workerOutput,
      );
    }
    const deletes = vendor.calls.filter((call) => call.method === 'DELETE');
    expect(deletes.every((call) => call.authorized)).toBe(true);
    expect(new Set(deletes.map((call) => call.uuid))).toEqual(new Set(destroyed.map((a) => a.id)));
    // The vendor's books: every resource it made is either live for a live add-on or deleted.
    const live = new Set(posts().map((call) => call.uuid));
    for (const call of deletes) live.delete(call.uuid);
    const kept = addons.filter((a) => !destroyed.includes(a));
    expect([...live].sort()).toEqual(kept.map((a) => a.id).sort());
    for (const app of apps) {
      const expected = Object.fromEntries(kept.filter((a) => a.app === app.name).map((a) => [a.configVar, providerUrl(a.id)]));
      expect(await attache.configVars(dev.apiKey, app.name)).toEqual(expected);
    }
    for (const addon of destroyed) expect((await attache.events(addon.id)).filter((type) => type === 'addon.deprovisioned')).toHaveLength(1);

    await second.stop();
    expect(second.running).toBe(false);
    console.log(
      `worker-crash: ${interrupted.length} calls cut off and sent again within ${retriedAfterMs} ms of the kill; ` +
        `${repeated} uuids posted more than once; all settled ${recoveredInMs} ms after the kill`,
    );
  });
});

import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { herokuCliSuite } from '../support/heroku-cli-suite';

interface RedisCli {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The real Heroku CLI (npm heroku@11) against a running Attache, for the first-party `redis`
 * service on this machine, and redis-cli on the URL the CLI prints.
 */
describe('the Heroku CLI with first-party Redis', () => {
  // With a spare node kept ready, as a host runs by default: the minis here are claimed spares.
  const suite = herokuCliSuite('cli-redis', { redis: true, env: { ATTACHE_REDIS_SPARES: '1' } });
  const { heroku, newApp } = suite;

  /** The instance's directory: a claimed spare's keeps the spare's key. */
  const instanceDir = async (addonId: string) => {
    const { rows } = await suite.attache.pg.query<{ key: string }>('SELECT key FROM redis_instances WHERE addon_id = $1', [addonId]);
    return join(suite.attache.env.ATTACHE_REDIS_DATA_DIR, rows[0].key);
  };
  /** Until the worker has a spare ready (it refills after every claim). */
  const spareReady = async () => {
    const deadline = Date.now() + 30_000;
    while ((await suite.attache.pg.query(`SELECT 1 FROM redis_spares WHERE state = 'ready'`)).rowCount === 0) {
      if (Date.now() > deadline) throw new Error('no spare Redis node became ready');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const claimedSpare = async (addonId: string) => (await instanceDir(addonId)).split('/').pop()!.startsWith('s_');

  it('creates a redis:mini, shows it, and redis-cli works with the URL config:get prints', async () => {
    const { attache, apiKey } = suite;
    const app = await newApp('redis-create');
    await spareReady();

    const created = await heroku('addons:create', 'redis:mini', '-a', app, '--wait');
    expect(created).toContain(`Creating redis:mini on ${app}... ~$0.004/hour (max $3/month)`);
    const name = /Created (\S+) as REDIS_URL/.exec(created)?.[1];
    expect(name).toMatch(/^redis-[a-z]+-\d+$/);
    expect(created).toContain('Run heroku addons:docs redis to view documentation.');

    const info = await heroku('addons:info', name!);
    expect(info).toContain(`=== ${name}`);
    expect(info).toMatch(/Plan:\s+redis:mini/);
    expect(info).toMatch(/Price:\s+~\$0\.004\/hour/);
    expect(info).toMatch(/Max Price:\s+\$3\/month/);
    expect(info).toMatch(new RegExp(`Attachments:\\s+${app}::REDIS`));
    expect(info).toMatch(new RegExp(`Owning app:\\s+${app}`));
    expect(info).toMatch(/State:\s+created/);

    const listed = await heroku('addons', '-a', app);
    expect(listed).toMatch(new RegExp(`redis \\(${name}\\)\\s+mini\\s+~\\$0\\.004/hour\\s+\\$3/month\\s+created`));
    expect(listed).toContain('as REDIS');

    const url = (await heroku('config:get', 'REDIS_URL', '-a', app)).trim();
    expect(url).toMatch(/^redis:\/\/app:[^@]+@127\.0\.0\.1:\d+$/);
    expect(url).toBe((await attache.configVars(apiKey, app)).REDIS_URL);
    const set = await redisCli(url, 'SET', 'greeting', 'hello from the cli');
    expect(set).toMatchObject({ code: 0, stdout: 'OK\n' });
    const get = await redisCli(url, 'GET', 'greeting');
    expect(get).toMatchObject({ code: 0, stdout: 'hello from the cli\n' });
    expect(await redisCli(url, 'ACL', 'WHOAMI')).toMatchObject({ code: 0, stdout: 'app\n' });
    const addonId = (await attache.pg.query<{ id: string }>('SELECT id FROM addons WHERE name = $1', [name])).rows[0].id;
    expect(await claimedSpare(addonId)).toBe(true);
  });

  it('upgrades a redis:mini to premium-0 keeping its data, then destroys it with every process and file', async () => {
    const { attache, apiKey } = suite;
    const app = await newApp('redis-upgrade');
    await spareReady();
    const created = await attache.client(apiKey).post(`/apps/${app}/addons`).send({ plan: 'redis:mini' });
    expect(created.status).toBe(201);
    const addon = { id: created.body.id as string, name: created.body.name as string };
    await attache.waitForAddon(apiKey, addon.id, (a) => a.state === 'provisioned');
    const url = (await attache.configVars(apiKey, app)).REDIS_URL;
    expect(await redisCli(url, 'RPUSH', 'kept', 'a', 'b', 'c')).toMatchObject({ code: 0, stdout: '3\n' });
    expect(await claimedSpare(addon.id)).toBe(true);

    const upgraded = await heroku('addons:upgrade', addon.name, 'premium-0', '-a', app);
    expect(upgraded).toContain(`Changing ${addon.name} on ${app} from redis:mini to redis:premium-0... done, ~$0.021/hour (max $15/month)`);
    await attache.waitForAddon(apiKey, addon.id, (a) => a.state === 'provisioned' && a.pending_plan === null && (a.plan as { name: string }).name === 'redis:premium-0', 30_000);
    const shown = await attache.client(apiKey).get(`/addons/${addon.id}/redis`);
    expect(shown.body).toMatchObject({ plan: { name: 'redis:premium-0' }, persistence: 'aof', memory: { limit_bytes: 50 * 1024 * 1024 }, replication: { replicas: 1 } });
    expect((await heroku('config:get', 'REDIS_URL', '-a', app)).trim()).toBe(url);
    expect(await redisCli(url, 'LRANGE', 'kept', '0', '-1')).toMatchObject({ code: 0, stdout: 'a\nb\nc\n' });
    expect(await heroku('addons:info', addon.name)).toMatch(/Plan:\s+redis:premium-0/);

    const dir = await instanceDir(addon.id);
    const pids = readdirSync(dir)
      .filter((entry) => /^(node|sentinel)-\d+$/.test(entry))
      .map((entry) => Number(readFileSync(join(dir, entry, entry.startsWith('node') ? 'redis.pid' : 'sentinel.pid'), 'utf8').trim()));
    expect(pids).toHaveLength(3);

    const destroyed = await heroku('addons:destroy', addon.name, '-a', app, '--confirm', app);
    // Deprovisioning runs in the worker, so the CLI reports it as pending (no --wait: it polls every 5 s).
    expect(destroyed).toContain(`Destroying ${addon.name} on ${app}... pending`);
    expect(destroyed).toContain(`${addon.name} is being destroyed in the background.`);
    await attache.waitForAddonGone(apiKey, addon.id, 30_000);
    expect((await attache.configVars(apiKey, app)).REDIS_URL).toBeUndefined();
    expect(pids.filter((pid) => existsSync(`/proc/${pid}`) && !/\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')))).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    const refused = await redisCli(url, 'PING');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`Could not connect to Redis at 127.0.0.1:${new URL(url).port}: Connection refused`);
  });
});

/** redis-cli with a clean environment; the URL carries the credentials. */
function redisCli(url: string, ...command: string[]): Promise<RedisCli> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-u', url, ...command], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' }, timeout: 15_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

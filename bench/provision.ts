/**
 * End-to-end provisioning benchmark. Starts Attache's api and worker as real processes on a
 * private database and queue prefix, with a vendor that answers at once, then fires N creates
 * from C concurrent clients. Prints API latency (p50/p99) and provisions per second, from the
 * first request to the last add-on reaching `provisioned`.
 *
 *   npm run build && node bin/run.js bench-provision [--n 2000] [--concurrency 50] [--rate 0] [--warmup 0]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import { children, freePort, percentile, root, start, stopAll, waitFor } from './bench-processes';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = arg('n', 2000);
const CONCURRENCY = arg('concurrency', 50);
/** Requests per second offered; 0 sends as fast as the clients can (saturation). */
const RATE = arg('rate', 0);
/** Creates sent (and provisioned) before the measured ones; 0 measures processes from cold. */
const WARMUP = arg('warmup', 0);
const PG = process.env.ATTACHE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';

function instantVendor(slug: string): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/json');
      if (req.method === 'POST') {
        const uuid = (JSON.parse(body) as { uuid: string }).uuid;
        res.end(JSON.stringify({ id: uuid, config: { [`${slug.toUpperCase().replace(/-/g, '_')}_URL`]: `https://bench.example/${uuid}` } }));
      } else {
        res.statusCode = req.method === 'DELETE' ? 204 : 200;
        res.end(req.method === 'DELETE' ? undefined : '{}');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/**
 * CPU seconds each process has used so far, from /proc (Linux only; elsewhere nothing). Counted
 * per process, it holds even when other work shares the machine.
 */
function cpuSeconds(pids: number[]): number {
  if (!existsSync('/proc/self/stat')) return NaN;
  const ticksPerSecond = 100; // USER_HZ, 100 on every Linux platform Node runs on
  let ticks = 0;
  for (const pid of pids) {
    try {
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone: its CPU is lost to the count
    }
  }
  return ticks / ticksPerSecond;
}

function cpuOfThisProcess(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}


async function main(): Promise<void> {
  const database = `attache_bench_${randomBytes(4).toString('hex')}`;
  const port = await freePort();
  const env = {
    ...process.env,
    NODE_ENV: 'development',
    DATABASE_URL: `${PG}/${database}${process.env.ATTACHE_BENCH_PG_QUERY ?? ""}`,
    ATTACHE_QUEUE_PREFIX: `attache-bench-${randomBytes(3).toString('hex')}`,
    ATTACHE_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    PORT: String(port),
    WORKER_PORT: String(await freePort()),
    ATTACHE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_HOUR: '100000000',
    WORKER_CONCURRENCY: String(arg('worker-concurrency', 50)),
  };
  const cli = (...args: string[]) => execFileSync(process.execPath, [join(root, 'bin', 'attache.js'), ...args], { env, encoding: 'utf8' });
  const slug = `bench-${randomBytes(3).toString('hex')}`;
  const vendor = await instantVendor(slug);
  const admin = new Client({ connectionString: `${PG}/postgres` });
  await admin.connect();
  try {
    cli('db:migrate');
    const key = cli('accounts:create', `bench-${randomBytes(3).toString('hex')}@example.test`).trim().split('\n').pop()!;
    start('api', env);
    start('worker', env);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/health`)).ok, 30_000, 'api and worker');
    const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', Accept: 'application/vnd.heroku+json; version=3' };
    const vendorUrl = `http://127.0.0.1:${(vendor.address() as AddressInfo).port}`;
    const manifest = {
      id: slug,
      name: 'Bench',
      api: {
        config_vars: [`${slug.toUpperCase().replace(/-/g, '_')}_URL`],
        password: randomBytes(16).toString('hex'),
        sso_salt: randomBytes(16).toString('hex'),
        regions: ['us'],
        requires: ['many_per_app'],
        production: { base_url: `${vendorUrl}/heroku/resources`, sso_url: `${vendorUrl}/sso` },
        version: '3',
      },
      plans: [{ name: 'instant', human_name: 'Instant', price: { cents: 100, unit: 'month' }, default: true }],
    };
    const pushed = await fetch(`${base}/api/v3/addons/${slug}/manifests`, { method: 'POST', headers, body: JSON.stringify({ contents: manifest }) });
    if (!pushed.ok) throw new Error(`manifest push failed: ${pushed.status} ${await pushed.text()}`);
    const apps: string[] = [];
    // Many apps, as in real use: creates on one app serialize on that app (its releases and vars).
    for (let i = 0; i < Math.min(N, Math.max(CONCURRENCY * 4, Math.ceil(N / 10))); i++) {
      const app = await fetch(`${base}/apps`, { method: 'POST', headers, body: '{}' });
      apps.push(((await app.json()) as { name: string }).name);
    }

    const db = new Client({ connectionString: env.DATABASE_URL });
    // After a failed run the database is dropped under this connection; that is no news.
    db.on('error', () => undefined);
    await db.connect();
    const create = async (i: number): Promise<{ ms: number; ok: boolean }> => {
      const t0 = performance.now();
      const response = await fetch(`${base}/apps/${apps[i % apps.length]}/addons`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ plan: `${slug}:instant`, attachment: { name: `B${i}` } }),
      });
      await response.arrayBuffer();
      return { ms: performance.now() - t0, ok: response.status === 201 };
    };
    /** Sends creates `first`…`first + count - 1` and waits until every accepted one is provisioned. */
    const run = async (first: number, count: number) => {
      const latencies: number[] = [];
      let failures = 0;
      const send = async (i: number) => {
        const { ms, ok } = await create(i);
        latencies.push(ms);
        if (!ok) failures++;
      };
      const started = performance.now();
      if (RATE > 0) {
        // Open loop: requests start on a fixed schedule (RATE per second) from up to CONCURRENCY
        // clients, so latency is measured at that load rather than at saturation.
        const inFlight = new Set<Promise<void>>();
        for (let i = 0; i < count; i++) {
          const due = started + (i * 1000) / RATE;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          while (inFlight.size >= CONCURRENCY) await Promise.race(inFlight);
          const request: Promise<void> = send(first + i).finally(() => inFlight.delete(request));
          inFlight.add(request);
        }
        await Promise.all(inFlight);
      } else {
        // Closed loop: CONCURRENCY clients each send the next create as soon as the last answers.
        let next = 0;
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (next < count) await send(first + next++);
          }),
        );
      }
      const accepted = performance.now();
      provisionedSoFar += count - failures;
      await waitFor(
        async () => Number((await db.query("SELECT count(*) AS n FROM addons WHERE state = 'provisioned'")).rows[0].n) >= provisionedSoFar,
        600_000,
        'all add-ons provisioned',
      );
      return { latencies, failures, started, accepted, finished: performance.now() };
    };
    let provisionedSoFar = 0;
    // Warm-up (--warmup W): W creates, at the same clients and rate, before anything is measured,
    // so the figures are those of processes past their JIT compilation and pool growth.
    if (WARMUP > 0) await run(N, WARMUP);
    const backends = async () => (await db.query('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database])).rows.map((r) => Number(r.pid));
    const cpu = async () => ({
      api: cpuSeconds([children[0].pid!]),
      worker: cpuSeconds([children[1].pid!]),
      postgres: cpuSeconds(await backends()),
      // This process: the clients and the vendor, which share the machine with what is measured.
      bench: cpuOfThisProcess(),
    });
    const cpuBefore = await cpu();
    const { latencies, failures, started, accepted, finished } = await run(0, N);
    const cpuAfter = await cpu();
    const cpuPerProvision = (key: keyof typeof cpuAfter) => (((cpuAfter[key] - cpuBefore[key]) * 1000) / N).toFixed(2);
    // A fast run that skipped work is no result: every provisioned add-on must have put its var on its app.
    const vars = Number((await db.query('SELECT count(*) AS n FROM config_vars WHERE attachment_id IS NOT NULL')).rows[0].n);
    await db.end();
    if (vars !== provisionedSoFar) throw new Error(`expected ${provisionedSoFar} add-on config vars, found ${vars}`);
    latencies.sort((a, b) => a - b);
    const seconds = (finished - started) / 1000;
    process.stdout.write(
      [
        `provision benchmark: ${N} creates, ${CONCURRENCY} concurrent clients, ${RATE > 0 ? `offered at ${RATE}/s` : 'closed loop (saturation)'}, vendor answers at once${WARMUP > 0 ? `, after ${WARMUP} warm-up creates` : ''}`,
        `  API latency      p50 ${percentile(latencies, 50).toFixed(1)} ms   p99 ${percentile(latencies, 99).toFixed(1)} ms   (failures: ${failures})`,
        `  API throughput   ${(N / ((accepted - started) / 1000)).toFixed(0)} creates/s accepted`,
        `  end to end       ${(N / seconds).toFixed(0)} provisions/s  (${seconds.toFixed(2)} s from first request to last provisioned)`,
        `  CPU / provision  api ${cpuPerProvision('api')} ms   worker ${cpuPerProvision('worker')} ms   postgres ${cpuPerProvision('postgres')} ms   (bench clients and vendor ${cpuPerProvision('bench')} ms)`,
      ].join('\n') + '\n',
    );
  } finally {
    await stopAll();
    vendor.close();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

/** What the benchmarks share: free ports, Attache's processes started from dist/, waiting on them, percentiles. */
import { ChildProcess, spawn } from 'node:child_process';
import { AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';

export const root = join(__dirname, '..', '..');

/** A port nothing listens on now (a random one could be PostgreSQL's or another run's). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** The api and worker started so far: waiting on them is pointless once one has exited. */
export const children: ChildProcess[] = [];

/** Starts `node bin/run.js <program>`; ATTACHE_BENCH_PROFILE=DIR writes a V8 CPU profile of it there (open it in Chrome DevTools). */
export function start(program: string, env: NodeJS.ProcessEnv): ChildProcess {
  const profile = process.env.ATTACHE_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.ATTACHE_BENCH_PROFILE}`] : [];
  const child = spawn(process.execPath, [...profile, join(root, 'bin', 'run.js'), program], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const exited = children.find((child) => child.exitCode !== null || child.signalCode !== null);
    if (exited) throw new Error(`${exited.spawnargs.slice(-1)[0]} exited (${exited.exitCode ?? exited.signalCode}) while waiting for ${what}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Stops every started process and waits until they have exited. */
export async function stopAll(): Promise<void> {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)))));
}

export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

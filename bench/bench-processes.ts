/** What the benchmarks share: their arguments, free ports, Attache's processes started from dist/, waiting on them, percentiles and their lines. */
import { ChildProcess, spawn } from 'node:child_process';
import { AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';

export const root = join(__dirname, '..', '..');

/** `--name value` from the command line, or `fallback`. */
export const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

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

export function stats(values: number[]): { p50: number; p90: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), max: sorted[sorted.length - 1] };
}
const ms = (value: number) => `${value.toFixed(1).padStart(6)} ms`;
/** One figure's line: p50, p90 and max. */
export function line(label: string, values: number[]): string {
  const s = stats(values);
  return `  ${label.padEnd(28)} p50 ${ms(s.p50)}   p90 ${ms(s.p90)}   max ${ms(s.max)}`;
}
/** Adds to `parts[k]` the time from mark k - 1 (or from 0) to mark k. */
export function addParts(parts: number[][], marks: number[]): void {
  marks.forEach((mark, k) => parts[k].push(mark - (k === 0 ? 0 : marks[k - 1])));
}

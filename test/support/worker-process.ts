import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './attache-harness';

const RUN_JS = join(__dirname, '..', '..', 'bin', 'run.js');
/** How much of the child's stdout and stderr is kept for error messages. */
const OUTPUT_LIMIT = 16_000;

/** Workers still running, killed if the test process exits without stopping them (they run detached). */
const live = new Set<WorkerProcess>();
process.once('exit', () => {
  for (const worker of live) worker.killNow();
});

export interface WorkerProcessOptions {
  /** Attache's configuration (usually `AttacheHarness.env`); WORKER_PORT is replaced by a free port. */
  env: Record<string, string>;
  /** How long start() waits for `/health/live` (default 20 s). */
  readyTimeoutMs?: number;
}

/**
 * `node bin/run.js worker` as its own OS process (from dist/, built by the jest global setup),
 * for tests that crash it for real. It runs in its own process group, so kill() takes the
 * whole process down at once, as an OOM kill or a lost machine would.
 */
export class WorkerProcess {
  private output = '';
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitStatus: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(this);
        this.exitStatus = { code, signal };
        resolve(this.exitStatus);
      });
    });
  }

  /** Spawns the worker and resolves once it answers `/health/live` (its processors are running by then). */
  static async start(options: WorkerProcessOptions): Promise<WorkerProcess> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      // Only what node needs plus Attache's configuration, so nothing leaks in from the test runner.
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env, WORKER_PORT: String(port) };
      const child = spawn(process.execPath, [RUN_JS, 'worker'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      const worker = new WorkerProcess(child, port);
      live.add(worker);
      try {
        await worker.waitUntilLive(options.readyTimeoutMs ?? 20_000);
        return worker;
      } catch (error) {
        await worker.kill();
        // Another process may take the free port before the worker binds it; try another.
        if (attempt < 3 && worker.output.includes('EADDRINUSE')) continue;
        throw error;
      }
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitStatus === null;
  }

  /** `running`, or how it ended, for failure messages. */
  get status(): string {
    return this.exitStatus ? `exited (code ${this.exitStatus.code}, signal ${this.exitStatus.signal})` : 'running';
  }

  /** The last few kilobytes the process wrote, for failure messages. */
  get recentOutput(): string {
    return this.output;
  }

  /** SIGKILL to the whole process group: no shutdown hooks, no lock release, no goodbye to Redis. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.killNow();
    await this.exited;
  }

  /** kill() without waiting for the exit, for the process's own `exit` handler. */
  killNow(): void {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch (error) {
      // ESRCH: it exited between the check and the kill.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  /** Graceful stop (SIGTERM runs Nest's shutdown hooks); SIGKILL if it takes longer than `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') await this.kill();
  }

  private async waitUntilLive(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError = 'no answer yet';
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(`worker exited before it was ready (${JSON.stringify(this.exitStatus)}):\n${this.output}`);
      }
      try {
        const response = await fetch(`http://127.0.0.1:${this.port}/health/live`, { signal: AbortSignal.timeout(1_000) });
        if (response.ok) return;
        lastError = `HTTP ${response.status}`;
      } catch (error) {
        lastError = (error as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`worker did not answer /health/live on port ${this.port} within ${timeoutMs} ms (${lastError}):\n${this.output}`);
  }
}

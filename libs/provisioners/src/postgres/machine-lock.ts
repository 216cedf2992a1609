import { createHash } from 'node:crypto';
import { Server, createServer } from 'node:net';

const POLL_MS = 50;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The machine lock of a dedicated cluster's directory, standard or premium (an archive purge removes either). */
export const clusterLockName = (dir: string): string => `pg-dedicated:${dir}`;

/** The abstract socket name of the lock called `name` (shown for tests that hold it from another process). */
export const machineLockAddress = (name: string): string => `\0attache-lock-${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;

/**
 * Runs `work` holding the lock called `name`, which one process of this machine holds at a time:
 * an abstract Unix socket (Linux) that only one socket can be bound to. The kernel releases it
 * when its holder exits, even when killed, as flock would (Node has none), so a crashed worker
 * never leaves a cluster locked. Waits as long as another holder works.
 */
export async function withMachineLock<T>(name: string, work: () => Promise<T>): Promise<T> {
  const server = await acquire(machineLockAddress(name));
  try {
    return await work();
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function acquire(address: string): Promise<Server> {
  for (;;) {
    const server = createServer();
    const bound = await new Promise<boolean>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(false) : reject(error)));
      server.listen(address, () => resolve(true));
    });
    if (bound) {
      // The socket only exists to be held: anyone who connects is hung up on, so that closing it
      // (which waits for its connections) never waits on a stranger.
      server.on('connection', (socket) => socket.destroy());
      server.unref();
      return server;
    }
    await sleep(POLL_MS);
  }
}

/**
 * Machine locks taken in turn within this process too: an operation on a name waits for this
 * process's earlier ones on it (which the machine lock alone would not order), then holds the
 * machine's lock of that name while it runs.
 */
export class MachineLocks {
  private readonly chains = new Map<string, Promise<unknown>>();

  async run<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(name) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => withMachineLock(name, work));
    this.chains.set(name, run);
    try {
      return await run;
    } finally {
      if (this.chains.get(name) === run) this.chains.delete(name);
    }
  }
}

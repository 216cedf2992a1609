import { createHash } from 'node:crypto';
import { Server, createServer } from 'node:net';

const POLL_MS = 50;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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

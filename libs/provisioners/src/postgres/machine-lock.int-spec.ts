import { randomUUID } from 'node:crypto';
import { Socket, connect } from 'node:net';
import { machineLockAddress, withMachineLock } from './machine-lock';

describe('machine locks', () => {
  it('lets one holder of a name work at a time', async () => {
    const name = `spec:${randomUUID()}`;
    const order: string[] = [];
    let releaseFirst!: () => void;
    const first = withMachineLock(name, async () => {
      order.push('first in');
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      order.push('first out');
    });
    while (order.length === 0) await new Promise((r) => setTimeout(r, 5));
    const second = withMachineLock(name, async () => {
      order.push('second in');
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(order).toEqual(['first in']);
    releaseFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second in']);
  });

  it('is released when its work ends even while a stranger is connected to it', async () => {
    const name = `spec:${randomUUID()}`;
    let stranger: Socket | undefined;
    let strangerClosed = false;
    await withMachineLock(name, async () => {
      stranger = connect(machineLockAddress(name));
      stranger.on('error', () => undefined);
      stranger.on('close', () => (strangerClosed = true));
      await new Promise<void>((resolve) => stranger!.once('connect', () => resolve()));
    });
    // Had the release waited for the stranger to hang up, the lock would still be held here.
    const again = await withMachineLock(name, () => Promise.resolve('taken again'));
    expect(again).toBe('taken again');
    while (!strangerClosed) await new Promise((r) => setTimeout(r, 5));
    stranger?.destroy();
  });
});

import { Store } from '../shared/store.port';
import { ProviderUnavailableError } from '../shared/ports';
import { RedisDriver } from './redis-driver.port';
import { RedisHost } from './redis.models';

/**
 * The lowest free ports of the host's range: held by no instance or spare, and bound by no
 * process. Call with the host row locked (placements and refills lock it), so two transactions
 * never pick the same port; the (host, port) key would refuse the second anyway.
 */
export async function freeRedisPorts(tx: Store, driver: RedisDriver, host: RedisHost, count: number): Promise<number[]> {
  const taken = await tx.redis.ports.taken(host.id);
  const chosen: number[] = [];
  const connection = { id: host.id, name: host.name, address: host.address, dataDir: host.dataDir };
  for (let port = host.portMin; port <= host.portMax && chosen.length < count; port++) {
    if (!taken.has(port) && (await driver.isPortFree(connection, port))) chosen.push(port);
  }
  if (chosen.length < count) throw new ProviderUnavailableError(`Redis host ${host.name} has no free ports left.`);
  return chosen;
}

import { Clock, DomainError } from '@app/common';
import { ProviderUnavailableError } from '../shared/ports';
import { PgClusterDriver } from './pg-cluster-driver.port';
import { DedicatedCluster, DedicatedHost, DedicatedHostState } from './pg-dedicated.models';
import { DedicatedClusterRepository } from './pg-dedicated.repository';
import { PgDedicatedHosts, placeDedicatedCluster } from './pg-dedicated-hosts';

const t0 = new Date('2026-11-26T12:00:00Z');

/** The service over hosts kept in memory, at a clock the test moves. */
function setUp() {
  const hosts = new Map<string, DedicatedHost>();
  let now = t0;
  const repository = {
    listHostsWithLoad: async () => [...hosts.values()].map((host) => ({ host, clusters: 0 })),
    upsertHost: async (host: DedicatedHost) => {
      const stored = { ...host, createdAt: hosts.get(host.name)?.createdAt ?? host.createdAt };
      hosts.set(host.name, stored);
      return stored;
    },
    setHostState: async (name: string, state: DedicatedHostState, at: Date) => {
      const host = hosts.get(name);
      if (!host) return null;
      hosts.set(name, { ...host, state, updatedAt: at });
      return hosts.get(name)!;
    },
  } as unknown as DedicatedClusterRepository;
  const clock = { now: () => now } as Clock;
  return { service: new PgDedicatedHosts(repository, clock), hosts, later: () => (now = new Date(now.getTime() + 60_000)) };
}

const input = { name: 'local', address: '127.0.0.1', portMin: 15400, portMax: 15599, capacity: 200 };

describe('PgDedicatedHosts', () => {
  it('registers a host, and updates it under the same name keeping its registration time', async () => {
    const { service, later } = setUp();
    const first = await service.register(input);
    expect(first).toEqual({ ...input, driver: 'local', state: 'active', createdAt: t0, updatedAt: t0 });
    later();
    const again = await service.register({ ...input, portMax: 15699, capacity: 300, state: 'draining' });
    expect(again).toEqual({ ...first, portMax: 15699, capacity: 300, state: 'draining', updatedAt: new Date(t0.getTime() + 60_000) });
  });

  it('keeps a registered host draining and its capacity when registered again without them (as every start does for local)', async () => {
    const { service } = setUp();
    await service.register({ ...input, capacity: 40 });
    await service.setState('local', 'draining');
    const again = await service.register({ name: 'local', address: '127.0.0.1', portMin: 15400, portMax: 15599 });
    expect(again).toMatchObject({ capacity: 40, state: 'draining' });
    expect(await service.register({ name: 'other', address: '127.0.0.1', portMin: 16000, portMax: 16099 })).toMatchObject({ capacity: 200, state: 'active' });
  });

  it.each([
    [{ name: 'Local' }, /lowercase/],
    [{ address: 'a b' }, /address/],
    [{ portMin: 80 }, /1024–65535/],
    [{ portMin: 15600, portMax: 15500 }, /lowest first/],
    [{ capacity: -1 }, /whole number/],
    [{ capacity: 1.5 }, /whole number/],
  ])('refuses %j', async (change, message) => {
    const { service, hosts } = setUp();
    await expect(service.register({ ...input, ...change })).rejects.toThrow(message);
    await expect(service.register({ ...input, ...change })).rejects.toBeInstanceOf(DomainError);
    expect(hosts.size).toBe(0);
  });

  it("refuses ports that meet another host's (every local host runs its postmasters on this machine)", async () => {
    const { service } = setUp();
    await service.register(input);
    await expect(service.register({ ...input, name: 'second', address: '10.0.0.2', portMin: 15500, portMax: 15799 })).rejects.toThrow(
      'Ports 15500-15799 overlap those of host local (15400-15599).',
    );
    expect(await service.register({ ...input, name: 'second', portMin: 15600, portMax: 15799 })).toEqual(expect.objectContaining({ name: 'second' }));
  });

  it('drains a host and makes it active again; an unknown one is not found', async () => {
    const { service, later } = setUp();
    await service.register(input);
    later();
    expect(await service.setState('local', 'draining')).toEqual(expect.objectContaining({ state: 'draining', updatedAt: new Date(t0.getTime() + 60_000) }));
    expect(await service.setState('local', 'active')).toEqual(expect.objectContaining({ state: 'active' }));
    await expect(service.setState('missing', 'draining')).rejects.toThrow('No dedicated PostgreSQL host is named missing.');
  });
});

describe('placeDedicatedCluster', () => {
  const record = { addonId: 'a' } as Omit<DedicatedCluster, 'host' | 'port'>;
  const driver = { isPortFree: async (port: number) => port !== 15400 } as unknown as PgClusterDriver;

  it('asks the driver whether anything listens on a port, and returns the cluster placed', async () => {
    const host = { name: 'local' } as DedicatedHost;
    const clusters = {
      place: async (_record: unknown, isPortFree: (host: DedicatedHost, port: number) => Promise<boolean>) => {
        const port = (await isPortFree(host, 15400)) ? 15400 : 15401;
        return { ...record, host: host.name, port } as DedicatedCluster;
      },
    } as unknown as DedicatedClusterRepository;
    expect(await placeDedicatedCluster(clusters, driver, record)).toEqual({ addonId: 'a', host: 'local', port: 15401 });
  });

  it('says so when no registered host has room', async () => {
    const clusters = { place: async () => null } as unknown as DedicatedClusterRepository;
    const placing = placeDedicatedCluster(clusters, driver, record);
    await expect(placing).rejects.toBeInstanceOf(ProviderUnavailableError);
    await expect(placing).rejects.toThrow('No dedicated PostgreSQL host has room for another cluster.');
  });
});

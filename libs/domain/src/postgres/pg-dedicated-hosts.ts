import { Injectable } from '@nestjs/common';
import { Clock, InvalidInputError, NotFoundError } from '@app/common';
import { ProviderUnavailableError } from '../shared/ports';
import { PgClusterDriver } from './pg-cluster-driver.port';
import { DedicatedCluster, DedicatedHost, DedicatedHostState } from './pg-dedicated.models';
import { DedicatedClusterRepository } from './pg-dedicated.repository';

export const DEFAULT_HOST_CAPACITY = 200;

export interface RegisterDedicatedHostInput {
  name: string;
  address: string;
  portMin: number;
  portMax: number;
  /** Kept as registered when absent on a host already registered (else 200). */
  capacity?: number;
  /** Kept as registered when absent on a host already registered (else active). */
  state?: DedicatedHostState;
}

/** The hosts dedicated PostgreSQL clusters are placed on: registration, draining and load. */
@Injectable()
export class PgDedicatedHosts {
  constructor(
    private readonly clusters: DedicatedClusterRepository,
    private readonly clock: Clock,
  ) {}

  /** Registers a host, or updates the one of that name. */
  async register(input: RegisterDedicatedHostInput): Promise<DedicatedHost> {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(input.name)) throw new InvalidInputError('A host name is lowercase letters, digits and dashes.');
    if (!/^[A-Za-z0-9.:-]{1,255}$/.test(input.address)) throw new InvalidInputError('The address must be a host name or an IP address.');
    const ports = [input.portMin, input.portMax];
    if (ports.some((p) => !Number.isInteger(p) || p < 1024 || p > 65535) || input.portMin > input.portMax) {
      throw new InvalidInputError('The port range must lie within 1024–65535, lowest first.');
    }
    const now = this.clock.now();
    const hosts = await this.clusters.listHostsWithLoad();
    const existing = hosts.find(({ host }) => host.name === input.name)?.host;
    const capacity = input.capacity ?? existing?.capacity ?? DEFAULT_HOST_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 0) throw new InvalidInputError('The capacity must be a whole number of clusters.');
    // Every `local` host runs its postmasters on this machine, whatever address apps use: their ports must not meet.
    for (const { host: other } of hosts) {
      if (other.name === input.name) continue;
      if (input.portMin <= other.portMax && other.portMin <= input.portMax) {
        throw new InvalidInputError(`Ports ${input.portMin}-${input.portMax} overlap those of host ${other.name} (${other.portMin}-${other.portMax}).`);
      }
    }
    return this.clusters.upsertHost({
      name: input.name,
      driver: 'local',
      address: input.address,
      portMin: input.portMin,
      portMax: input.portMax,
      capacity,
      state: input.state ?? existing?.state ?? 'active',
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    });
  }

  /** A draining host keeps running its clusters and gets no new ones; `active` takes new ones again. */
  async setState(name: string, state: DedicatedHostState): Promise<DedicatedHost> {
    const host = await this.clusters.setHostState(name, state, this.clock.now());
    if (!host) throw new NotFoundError('postgres_dedicated_host', `No dedicated PostgreSQL host is named ${name}.`);
    return host;
  }

  /** Every host with the live clusters it runs. */
  listWithLoad(): Promise<{ host: DedicatedHost; clusters: number }[]> {
    return this.clusters.listHostsWithLoad();
  }
}

/**
 * Records a new cluster on the least loaded active host with room, on a port no cluster holds and
 * nothing listens on; says so when no registered host has room.
 */
export async function placeDedicatedCluster(
  clusters: DedicatedClusterRepository,
  driver: PgClusterDriver,
  record: Omit<DedicatedCluster, 'host' | 'port'>,
): Promise<DedicatedCluster> {
  const placed = await clusters.place(record, (_host, port) => driver.isPortFree(port));
  if (!placed) throw new ProviderUnavailableError('No dedicated PostgreSQL host has room for another cluster.');
  return placed;
}

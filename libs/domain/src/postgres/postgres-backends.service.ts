import { Injectable } from '@nestjs/common';
import { Clock, InvalidInputError, NotFoundError, SecretBox, newId } from '@app/common';
import { Store } from '../shared/store.port';
import { BackendConnection, PostgresBackend, PostgresBackendState } from './postgres.models';

export interface RegisterBackendInput {
  name: string;
  host: string;
  port: number;
  adminUser: string;
  adminPassword: string;
  maintenanceDatabase?: string;
  capacity: number;
  state?: PostgresBackendState;
}

/** The shared clusters tenant databases are placed on: registration, load, and how to reach them. */
@Injectable()
export class PostgresBackends {
  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  /** Registers a cluster, or updates the one of that name. */
  async register(input: RegisterBackendInput): Promise<PostgresBackend> {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(input.name)) throw new InvalidInputError('A backend name is lowercase letters, digits and dashes.');
    if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) throw new InvalidInputError('The port must be from 1 to 65535.');
    if (!Number.isInteger(input.capacity) || input.capacity < 0) throw new InvalidInputError('The capacity must be a whole number of databases.');
    const now = this.clock.now();
    const existing = await this.store.postgres.backends.findByName(input.name);
    return this.store.postgres.backends.upsertByName({
      id: existing?.id ?? newId(),
      name: input.name,
      host: input.host,
      port: input.port,
      adminUser: input.adminUser,
      adminPasswordSealed: this.box.seal(input.adminPassword),
      maintenanceDatabase: input.maintenanceDatabase ?? 'postgres',
      capacity: input.capacity,
      state: input.state ?? 'active',
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    });
  }

  /** Every backend with the number of tenant databases it holds. */
  async listWithLoad(): Promise<{ backend: PostgresBackend; databases: number }[]> {
    const [backends, counts] = await Promise.all([this.store.postgres.backends.list(), this.store.postgres.backends.countActiveDatabases()]);
    return backends.map((backend) => ({ backend, databases: counts.get(backend.id) ?? 0 }));
  }

  async connection(backendId: string, store: Store = this.store): Promise<BackendConnection> {
    const backend = await store.postgres.backends.findById(backendId);
    if (!backend) throw new NotFoundError('postgres_backend', `PostgreSQL backend ${backendId} is not registered.`);
    return this.open(backend);
  }

  open(backend: PostgresBackend): BackendConnection {
    return openBackend(backend, this.box);
  }
}

/** The backend with its superuser password opened, for the cluster adapter. */
export function openBackend(backend: PostgresBackend, box: SecretBox): BackendConnection {
  return {
    id: backend.id,
    name: backend.name,
    host: backend.host,
    port: backend.port,
    user: backend.adminUser,
    password: box.open(backend.adminPasswordSealed),
    maintenanceDatabase: backend.maintenanceDatabase,
  };
}

/** `postgres://role:password@host:port/database`, as apps receive it. */
export function postgresUrl(backend: Pick<PostgresBackend, 'host' | 'port'>, role: string, password: string, database: string): string {
  const host = backend.host.includes(':') ? `[${backend.host}]` : backend.host;
  return `postgres://${encodeURIComponent(role)}:${encodeURIComponent(password)}@${host}:${backend.port}/${encodeURIComponent(database)}`;
}

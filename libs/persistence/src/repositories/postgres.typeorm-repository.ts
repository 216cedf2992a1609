import { EntityManager } from 'typeorm';
import {
  PostgresBackendRepository,
  PostgresBackupRepository,
  PostgresCredentialRepository,
  PostgresDatabaseRepository,
  PostgresRestoreRepository,
  PostgresStore,
} from '@app/domain';
import { TypeOrmPostgresBackends } from './postgres-backend.typeorm-repository';
import { TypeOrmPostgresBackups } from './postgres-backup.typeorm-repository';
import { TypeOrmPostgresCredentials } from './postgres-credential.typeorm-repository';
import { TypeOrmPostgresDatabases } from './postgres-database.typeorm-repository';
import { TypeOrmPostgresRestores } from './postgres-restore.typeorm-repository';

/** The first-party PostgreSQL repositories, bound to one manager (so to one transaction, inside one). */
export class TypeOrmPostgres implements PostgresStore {
  readonly backends: PostgresBackendRepository;
  readonly databases: PostgresDatabaseRepository;
  readonly credentials: PostgresCredentialRepository;
  readonly backups: PostgresBackupRepository;
  readonly restores: PostgresRestoreRepository;

  constructor(manager: EntityManager) {
    this.backends = new TypeOrmPostgresBackends(manager);
    this.databases = new TypeOrmPostgresDatabases(manager);
    this.credentials = new TypeOrmPostgresCredentials(manager);
    this.backups = new TypeOrmPostgresBackups(manager);
    this.restores = new TypeOrmPostgresRestores(manager);
  }
}

import { Injectable } from '@nestjs/common';
import { Client, escapeIdentifier as ident } from 'pg';
import { BackendConnection } from '@app/domain';

/**
 * A shared-plan database's read-only window while its data moves to a dedicated cluster: new
 * transactions default to read-only and the open sessions are ended, so what is copied is what
 * the database holds. (A session could still opt out with SET; the window is short.)
 */
@Injectable()
export class PgSharedReadOnly {
  async set(backend: BackendConnection, database: string, readOnly: boolean): Promise<void> {
    const client = new Client({ host: backend.host, port: backend.port, user: backend.user, password: backend.password, database: backend.maintenanceDatabase, connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query(`ALTER DATABASE ${ident(database)} SET default_transaction_read_only = ${readOnly ? 'on' : 'off'}`);
      if (readOnly) await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

import { EntityManager } from 'typeorm';
import { RedisPortRepository } from '@app/domain';
import { isUuid } from './query-helpers';
import { query } from './sql';

export class TypeOrmRedisPorts implements RedisPortRepository {
  constructor(private readonly m: EntityManager) {}

  async taken(hostId: string): Promise<Set<number>> {
    if (!isUuid(hostId)) return new Set();
    const rows = await query<{ port: number }[]>(this.m, `SELECT port FROM redis_ports WHERE host_id = $1`, [hostId]);
    return new Set(rows.map((r) => r.port));
  }

  async hold(hostId: string, addonId: string, ports: number[]): Promise<void> {
    if (ports.length === 0) return;
    // No ON CONFLICT: a port another add-on holds must fail the transaction, not be skipped.
    await query(this.m, `INSERT INTO redis_ports (host_id, port, addon_id) SELECT $1::uuid, p, $3::uuid FROM unnest($2::integer[]) AS p`, [hostId, ports, addonId]);
  }

  async heldBy(addonId: string): Promise<number[]> {
    if (!isUuid(addonId)) return [];
    const rows = await query<{ port: number }[]>(this.m, `SELECT port FROM redis_ports WHERE addon_id = $1 ORDER BY port`, [addonId]);
    return rows.map((r) => r.port);
  }

  async release(addonId: string, ports?: number[]): Promise<void> {
    if (!isUuid(addonId) || ports?.length === 0) return;
    if (ports === undefined) await query(this.m, `DELETE FROM redis_ports WHERE addon_id = $1`, [addonId]);
    else await query(this.m, `DELETE FROM redis_ports WHERE addon_id = $1 AND port = ANY($2::integer[])`, [addonId, ports]);
  }
}

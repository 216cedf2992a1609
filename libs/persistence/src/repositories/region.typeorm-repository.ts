import { EntityManager } from 'typeorm';
import { Region, RegionRepository } from '@app/domain';
import { RegionEntity } from '../entities';
import { isUuid } from './query-helpers';

/**
 * Regions are reference data that only migrations change, and almost every request reads them,
 * so each process keeps them for a minute.
 */
const CACHE_MS = 60_000;
let cache: { regions: Region[]; loadedAt: number } | null = null;

export class TypeOrmRegions implements RegionRepository {
  constructor(private readonly m: EntityManager) {}

  async list(): Promise<Region[]> {
    if (!cache || Date.now() - cache.loadedAt > CACHE_MS) {
      cache = { regions: await this.m.find(RegionEntity, { order: { name: 'ASC' } }), loadedAt: Date.now() };
    }
    return cache.regions;
  }

  async findByIdOrName(idOrName: string): Promise<Region | null> {
    return (await this.list()).find((r) => (isUuid(idOrName) ? r.id === idOrName : r.name === idOrName)) ?? null;
  }

  async findDefault(): Promise<Region> {
    return (await this.findByIdOrName('us'))!;
  }
}

import { PlanState } from '../shared/models';

/** A service Attache provides itself, with its plans: the catalog rows `FirstPartyCatalogService` keeps in place. */
export interface FirstPartyServiceDefinition {
  id: string;
  slug: string;
  humanName: string;
  provider: 'postgres' | 'redis' | 'kafka';
  configVarsPrefix: string;
  defaultAlias: string;
  configVars: string[];
  requires: string[];
  regions: string[];
  plans: { id: string; name: string; humanName: string; description: string; priceCents: number; isDefault: boolean; state: PlanState }[];
}

/** Ids are fixed so every installation (and every test database) names the same rows. */
export const FIRST_PARTY_SERVICES: FirstPartyServiceDefinition[] = [
  {
    id: '6c0d5a4e-2b1f-4c55-9d1e-5f0a3c7b2e01',
    slug: 'postgresql',
    humanName: 'PostgreSQL',
    provider: 'postgres',
    configVarsPrefix: 'POSTGRESQL',
    defaultAlias: 'DATABASE',
    configVars: ['POSTGRESQL_URL'],
    requires: ['attachable', 'many_per_app'],
    regions: ['us', 'eu'],
    plans: [
      {
        id: '6c0d5a4e-2b1f-4c55-9d1e-5f0a3c7b2e10',
        name: 'essential-0',
        humanName: 'Essential 0',
        description: 'A database on a shared cluster: 1 GB storage, 20 connections.',
        priceCents: 500,
        isDefault: true,
        state: 'public',
      },
      {
        id: '6c0d5a4e-2b1f-4c55-9d1e-5f0a3c7b2e11',
        name: 'essential-1',
        humanName: 'Essential 1',
        description: 'A database on a shared cluster: 10 GB storage, 20 connections.',
        priceCents: 900,
        isDefault: false,
        state: 'public',
      },
      {
        id: '6c0d5a4e-2b1f-4c55-9d1e-5f0a3c7b2e12',
        name: 'essential-2',
        humanName: 'Essential 2',
        description: 'A database on a shared cluster: 32 GB storage, 40 connections.',
        priceCents: 2000,
        isDefault: false,
        state: 'public',
      },
    ],
  },
];

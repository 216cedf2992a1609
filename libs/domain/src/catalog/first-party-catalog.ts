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
      {
        id: '6c0d5a4e-2b1f-4c55-9d1e-5f0a3c7b2e20',
        name: 'standard-0',
        humanName: 'Standard 0',
        description: 'A cluster of its own with continuous WAL archiving: rollback to any moment of the last 4 days, forks and followers; 120 connections.',
        priceCents: 5000,
        isDefault: false,
        state: 'public',
      },
      {
        id: '6c0d5a4e-2b1f-4c55-9d1e-5f0a3c7b2e21',
        name: 'standard-1',
        humanName: 'Standard 1',
        description: 'A cluster of its own with continuous WAL archiving: rollback to any moment of the last 4 days, forks and followers; 400 connections.',
        priceCents: 20000,
        isDefault: false,
        state: 'public',
      },
      {
        id: '6c0d5a4e-2b1f-4c55-9d1e-5f0a3c7b2e30',
        name: 'premium-0',
        humanName: 'Premium 0',
        description: 'A cluster of its own with a streaming standby and automatic failover (pg_auto_failover); rollback to any moment of the last 7 days, forks and followers; 120 connections.',
        priceCents: 20000,
        isDefault: false,
        state: 'public',
      },
    ],
  },
  {
    id: '7d1e6b5f-3c20-4d66-8e2f-6a1b4d8c3f01',
    slug: 'redis',
    humanName: 'Redis',
    provider: 'redis',
    configVarsPrefix: 'REDIS',
    defaultAlias: 'REDIS',
    configVars: ['REDIS_URL'],
    requires: ['attachable', 'many_per_app'],
    regions: ['us', 'eu'],
    plans: [
      {
        id: '7d1e6b5f-3c20-4d66-8e2f-6a1b4d8c3f10',
        name: 'mini',
        humanName: 'Mini',
        description: 'Its own Redis: 25 MB, 20 clients, no persistence.',
        priceCents: 300,
        isDefault: true,
        state: 'public',
      },
      {
        id: '7d1e6b5f-3c20-4d66-8e2f-6a1b4d8c3f11',
        name: 'premium-0',
        humanName: 'Premium 0',
        description: 'Its own Redis: 50 MB, 40 clients, AOF persistence, a standby with automatic failover.',
        priceCents: 1500,
        isDefault: false,
        state: 'public',
      },
      {
        id: '7d1e6b5f-3c20-4d66-8e2f-6a1b4d8c3f12',
        name: 'premium-1',
        humanName: 'Premium 1',
        description: 'Its own Redis: 100 MB, 80 clients, AOF persistence, a standby with automatic failover.',
        priceCents: 3000,
        isDefault: false,
        state: 'public',
      },
    ],
  },
  {
    id: '8e2f7c60-4d31-4e77-9f30-7b2c5e9d4001',
    slug: 'kafka',
    humanName: 'Apache Kafka',
    provider: 'kafka',
    configVarsPrefix: 'KAFKA',
    defaultAlias: 'KAFKA',
    configVars: ['KAFKA_URL', 'KAFKA_PREFIX', 'KAFKA_USERNAME', 'KAFKA_PASSWORD', 'KAFKA_SASL_MECHANISM'],
    requires: ['attachable', 'many_per_app'],
    regions: ['us', 'eu'],
    plans: [
      {
        id: '8e2f7c60-4d31-4e77-9f30-7b2c5e9d4010',
        name: 'basic-0',
        humanName: 'Basic 0',
        description: 'A tenant on a shared Kafka 4 cluster: 10 topics, 4 partitions each, 1 day retention, 1 MB/s in, 2 MB/s out.',
        priceCents: 10000,
        isDefault: true,
        state: 'public',
      },
      {
        id: '8e2f7c60-4d31-4e77-9f30-7b2c5e9d4011',
        name: 'basic-1',
        humanName: 'Basic 1',
        description: 'A tenant on a shared Kafka 4 cluster: 25 topics, 8 partitions each, 3 days retention, 4 MB/s in, 8 MB/s out.',
        priceCents: 17500,
        isDefault: false,
        state: 'public',
      },
      {
        id: '8e2f7c60-4d31-4e77-9f30-7b2c5e9d4012',
        name: 'basic-2',
        humanName: 'Basic 2',
        description: 'A tenant on a shared Kafka 4 cluster: 50 topics, 16 partitions each, 7 days retention, 16 MB/s in, 32 MB/s out.',
        priceCents: 47500,
        isDefault: false,
        state: 'public',
      },
    ],
  },
];

/** The catalog id of the first-party service of a provider. */
export const firstPartyServiceId = (provider: FirstPartyServiceDefinition['provider']): string => FIRST_PARTY_SERVICES.find((s) => s.provider === provider)!.id;

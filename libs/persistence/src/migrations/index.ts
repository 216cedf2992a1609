import { CorePlatform1764000000000 } from './1764000000000-core-platform';
import { PostgresShared1764100000000 } from './1764100000000-postgres-shared';
import { Redis1764200000000 } from './1764200000000-redis';
import { Kafka1764300000000 } from './1764300000000-kafka';
import { Teams1764400000000 } from './1764400000000-teams';
import { UsageRecords1764500000000 } from './1764500000000-usage-records';
import { Invoices1764600000000 } from './1764600000000-invoices';
import { BrowserSessions1764710000000 } from './1764710000000-browser-sessions';
import { AddonWebhooks1764760000000 } from './1764760000000-addon-webhooks';
import { RedisSpares1764780000000 } from './1764780000000-redis-spares';
import { PostgresDedicated1764790000000 } from './1764790000000-postgres-dedicated';
import { PostgresPremium1764795000000 } from './1764795000000-postgres-premium';
import { PostgresDedicatedHosts1764830000000 } from './1764830000000-postgres-dedicated-hosts';

/** Every migration, in order. Committed migrations are never edited; add a new one instead. */
export const MIGRATIONS = [CorePlatform1764000000000, PostgresShared1764100000000, Redis1764200000000, Kafka1764300000000, Teams1764400000000, UsageRecords1764500000000, Invoices1764600000000, BrowserSessions1764710000000, AddonWebhooks1764760000000, RedisSpares1764780000000, PostgresDedicated1764790000000, PostgresPremium1764795000000, PostgresDedicatedHosts1764830000000];

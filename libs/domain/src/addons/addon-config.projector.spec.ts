import { randomBytes } from 'node:crypto';
import { SecretBox } from '@app/common';
import { Addon, AddonService, Attachment } from '../shared/models';
import { ConfigChange, LockedAttachment, Store } from '../shared/store.port';
import { AddonConfigProjector } from './addon-config.projector';

describe('AddonConfigProjector.projectAll', () => {
  const box = new SecretBox(randomBytes(32));
  const projector = new AddonConfigProjector(box);
  const service = { configVarsPrefix: 'DATABASE' } as AddonService;
  const addon = { id: 'addon-a', configSealed: null, namespaceConfigSealed: null } as unknown as Addon;
  const attachment = { id: 'att-a', appId: 'app-1', name: 'DB', namespace: null } as Attachment;

  /** The config changes a projection writes, with the values opened. */
  async function project(locked: LockedAttachment[], config: Record<string, string>) {
    const written: ConfigChange[] = [];
    const tx = { releases: { appendWithConfigChange: async (change: ConfigChange) => void written.push(change) } } as unknown as Store;
    const apps = await projector.projectAll(tx, addon, service, config, 'Update', new Date(), locked);
    return { apps, written: written.map((c) => ({ ...c, set: c.set.map((v) => ({ name: v.name, value: box.open(v.valueSealed) })) })) };
  }

  it("leaves out a key whose var another attachment owns, and writes the rest", async () => {
    const { apps, written } = await project([{ attachment, vars: [], takenByOthers: ['DB_REPLICA_URL'] }], { DATABASE_URL: 'postgres://a', DATABASE_REPLICA_URL: 'postgres://r' });
    expect(apps).toEqual(['app-1']);
    expect(written).toEqual([{ appId: 'app-1', set: [{ name: 'DB_URL', value: 'postgres://a' }], unset: [] }]);
  });

  it('cuts no release when the only change would take another attachment’s var', async () => {
    const current = { appId: 'app-1', name: 'DB_URL', valueSealed: box.seal('postgres://a'), attachmentId: 'att-a' };
    const { apps, written } = await project([{ attachment, vars: [current], takenByOthers: ['DB_REPLICA_URL'] }], { DATABASE_URL: 'postgres://a', DATABASE_REPLICA_URL: 'postgres://r' });
    expect(apps).toEqual([]);
    expect(written).toEqual([]);
  });
});

import { randomBytes } from 'node:crypto';
import { SecretBox, newId } from '@app/common';
import { addonOf, createApp, useStoreFixture } from '../../../test/support/store-fixtures';
import { SealedColumns } from './sealed-columns';

/** Moving values at rest to a new encryption key, on a real PostgreSQL with every migration applied. */
describe('SealedColumns', () => {
  const fixture = useStoreFixture({
    poolSize: 2,
    emailStem: 'sealed',
    service: { slug: `sealed-${newId().slice(0, 8)}`, humanName: 'Sealed', provider: 'http', configVarsPrefix: 'SEALED', defaultAlias: 'SEALED', configVars: ['SEALED_URL'], baseUrl: 'http://127.0.0.1:1' },
    plan: { name: 'basic', humanName: 'Basic', priceCents: 0 },
  });
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const sealedBefore = new SecretBox(oldKey);
  const rotated = new SecretBox(newKey, [oldKey]);
  const onlyNew = new SecretBox(newKey);
  const unknown = new SecretBox(randomBytes(32));

  const keyOf = (sealed: string) => sealed.split(':')[1];

  it('finds every sealed column of the schema with its primary key', async () => {
    const columns = await new SealedColumns(fixture.dataSource, rotated).list();
    expect(columns).toEqual(
      expect.arrayContaining([
        { table: 'addon_services', column: 'password_sealed', key: ['id'] },
        { table: 'addons', column: 'config_sealed', key: ['id'] },
        { table: 'config_vars', column: 'value_sealed', key: ['app_id', 'name'] },
        { table: 'postgres_credentials', column: 'pending_password_sealed', key: ['id'] },
        { table: 'postgres_dedicated_clusters', column: 'owner_password_sealed', key: ['addon_id'] },
        { table: 'addon_webhooks', column: 'secret_sealed', key: ['id'] },
      ]),
    );
    expect(columns.every((c) => c.column.endsWith('_sealed'))).toBe(true);
  });

  it('re-seals what previous keys sealed under the current key, leaves what no key it has opens, and has nothing left to do after', async () => {
    const { dataSource } = fixture;
    const app = await createApp(fixture);
    const addon = addonOf(fixture, app, { name: `sealed-${newId()}`, configSealed: sealedBefore.seal('{"SEALED_URL":"https://old"}') });
    await fixture.store.addons.createIfNameFree(addon);
    const vars = { OLD_ONE: 'first', OLD_TWO: 'second', ALREADY_NEW: 'third', STRANGER: 'fourth' };
    const sealers: Record<string, SecretBox> = { OLD_ONE: sealedBefore, OLD_TWO: sealedBefore, ALREADY_NEW: onlyNew, STRANGER: unknown };
    for (const [name, value] of Object.entries(vars)) {
      await dataSource.query('INSERT INTO config_vars (app_id, name, value_sealed) VALUES ($1, $2, $3)', [app.id, name, sealers[name].seal(value)]);
    }
    const alreadyNew: string = (await dataSource.query("SELECT value_sealed FROM config_vars WHERE app_id = $1 AND name = 'ALREADY_NEW'", [app.id]))[0].value_sealed;

    const columns = new SealedColumns(dataSource, rotated);
    const keysBefore = (await columns.keys()).find((c) => c.table === 'config_vars')!.byKey;
    expect(keysBefore).toEqual({ [keyOf(sealedBefore.seal('x'))]: 2, [rotated.currentKeyId]: 1, [keyOf(unknown.seal('x'))]: 1 });

    const reports = await columns.resealStale();
    const byColumn = (table: string, column: string) => reports.find((r) => r.table === table && r.column === column)!;
    expect(byColumn('config_vars', 'value_sealed')).toMatchObject({ resealed: 2, failed: [{ key: { app_id: app.id, name: 'STRANGER' }, error: expect.stringMatching(/Cannot decrypt/) }] });
    expect(byColumn('addons', 'config_sealed')).toMatchObject({ resealed: 1, failed: [] });

    // A box with only the new key opens every re-sealed value to what it was; the rest are as they were.
    const stored: { name: string; value_sealed: string }[] = await dataSource.query('SELECT name, value_sealed FROM config_vars WHERE app_id = $1 ORDER BY name', [app.id]);
    const opened = Object.fromEntries(stored.filter((r) => r.name !== 'STRANGER').map((r) => [r.name, onlyNew.open(r.value_sealed)]));
    expect(opened).toEqual({ OLD_ONE: 'first', OLD_TWO: 'second', ALREADY_NEW: 'third' });
    expect(stored.find((r) => r.name === 'ALREADY_NEW')!.value_sealed).toBe(alreadyNew);
    expect(unknown.open(stored.find((r) => r.name === 'STRANGER')!.value_sealed)).toBe('fourth');
    const config: string = (await dataSource.query('SELECT config_sealed FROM addons WHERE id = $1', [addon.id]))[0].config_sealed;
    expect(onlyNew.open(config)).toBe('{"SEALED_URL":"https://old"}');

    const again = await columns.resealStale();
    expect(again.reduce((n, r) => n + r.resealed, 0)).toBe(0);
    expect(again.flatMap((r) => r.failed.map((f) => f.key))).toEqual([{ app_id: app.id, name: 'STRANGER' }]);
  });

  it('leaves a value changed since it was read as the writer left it', async () => {
    const { dataSource } = fixture;
    const app = await createApp(fixture);
    await dataSource.query("INSERT INTO config_vars (app_id, name, value_sealed) VALUES ($1, 'RACED', $2)", [app.id, sealedBefore.seal('before')]);
    // The write lands between the re-sealer's read and its update: its update matches no row then.
    const columns = new SealedColumns(dataSource, rotated);
    const written = onlyNew.seal('written meanwhile');
    const query = dataSource.query.bind(dataSource);
    let raced = false;
    jest.spyOn(dataSource, 'query').mockImplementation(async (...args: Parameters<typeof dataSource.query>) => {
      const result = await query(...args);
      if (!raced && /^SELECT .* FROM "config_vars"/s.test(args[0])) {
        raced = true;
        await query("UPDATE config_vars SET value_sealed = $1 WHERE app_id = $2 AND name = 'RACED'", [written, app.id]);
      }
      return result;
    });
    try {
      const report = (await columns.resealStale()).find((r) => r.table === 'config_vars')!;
      expect(report.resealed).toBe(0);
      expect(report.failed.map((f) => f.key)).not.toContainEqual({ app_id: app.id, name: 'RACED' });
    } finally {
      jest.restoreAllMocks();
    }
    expect((await dataSource.query("SELECT value_sealed FROM config_vars WHERE app_id = $1 AND name = 'RACED'", [app.id]))[0].value_sealed).toBe(written);
  });
});

import { newId } from '@app/common';
import { BrowserSession } from '@app/domain';
import { useStoreFixture, waitFor } from '../../../../test/support/store-fixtures';
import { TypeOrmBrowserSessions } from './browser-session.typeorm-repository';

/** Passwords and browser sessions on a real PostgreSQL (migration BrowserSessions1764710000000). */
describe('TypeOrmBrowserSessions', () => {
  const fixture = useStoreFixture({
    poolSize: 4,
    emailStem: 'sessions',
    service: { slug: `svc-${newId().slice(0, 8)}`, humanName: 'Service', provider: 'http', configVarsPrefix: 'SVC', defaultAlias: 'SVC', configVars: ['SVC_URL'], baseUrl: 'http://127.0.0.1:1' },
    plan: { name: 'basic', humanName: 'Basic', priceCents: 500 },
  });
  let repo: TypeOrmBrowserSessions;
  const at = new Date('2026-11-26T10:00:00Z');
  const later = (ms: number) => new Date(at.getTime() + ms);

  beforeAll(() => {
    repo = new TypeOrmBrowserSessions(fixture.dataSource);
  });

  const session = (accountId: string, fields: Partial<BrowserSession> = {}): BrowserSession => ({
    idHash: newId(),
    accountId,
    createdAt: at,
    lastSeenAt: at,
    expiresAt: later(3_600_000),
    ...fields,
  });

  it('sets and replaces a password, ending every other session of the account in the same transaction', async () => {
    const { accountId } = fixture;
    const other = (await fixture.store.accounts.create({ email: `other-${newId()}@example.test` })).id;
    expect(await repo.findPasswordHash(accountId)).toBeNull();
    const [kept, ended, foreign] = [session(accountId), session(accountId), session(other)];
    for (const s of [kept, ended, foreign]) await repo.create(s);

    await repo.changePassword(accountId, 'hash-1', at, kept.idHash);
    expect(await repo.findPasswordHash(accountId)).toBe('hash-1');
    expect(await repo.find(kept.idHash)).toEqual(kept);
    expect(await repo.find(ended.idHash)).toBeNull();
    expect(await repo.find(foreign.idHash)).toEqual(foreign);

    expect(await repo.upgradePasswordHash(accountId, 'hash-2', later(1000), 'hash-1')).toBe(true);
    expect(await repo.findPasswordHash(accountId)).toBe('hash-2');
    expect(await repo.find(kept.idHash)).not.toBeNull();
    await repo.changePassword(accountId, 'hash-3', later(2000), null);
    expect(await repo.find(kept.idHash)).toBeNull();
  });

  it('touches last-seen forwards only, deletes once, and removes only ended sessions of the account', async () => {
    const { accountId } = fixture;
    const live = session(accountId);
    const expired = session(accountId, { expiresAt: later(1000) });
    const idle = session(accountId, { lastSeenAt: later(-10_000) });
    for (const s of [live, expired, idle]) await repo.create(s);

    await repo.touch(live.idHash, later(60_000));
    await repo.touch(live.idHash, later(30_000));
    expect((await repo.find(live.idHash))!.lastSeenAt).toEqual(later(60_000));

    await repo.deleteEnded(accountId, later(2000), later(-5000));
    expect(await repo.find(expired.idHash)).toBeNull();
    expect(await repo.find(idle.idHash)).toBeNull();
    expect(await repo.find(live.idHash)).not.toBeNull();

    expect(await repo.delete(live.idHash)).toBe(true);
    expect(await repo.delete(live.idHash)).toBe(false);
  });

  const newAccount = async () => (await fixture.store.accounts.create({ email: `sessions-${newId()}@example.test` })).id;

  it('upgrades a hash only while it is still the one that was checked', async () => {
    const id = await newAccount();
    await repo.changePassword(id, 'old-weak', at, null);
    // The password changed after the old one was checked (and found weak): the upgrade must not bring it back.
    await repo.changePassword(id, 'changed', later(1000), null);
    expect(await repo.upgradePasswordHash(id, 'old-strong', later(2000), 'old-weak')).toBe(false);
    expect(await repo.findPasswordHash(id)).toBe('changed');
    expect(await repo.upgradePasswordHash(id, 'changed-strong', later(3000), 'changed')).toBe(true);
    expect(await repo.findPasswordHash(id)).toBe('changed-strong');
  });

  it('starts a password sign-in’s session only while the password is the one that was checked, after a change in flight commits', async () => {
    const id = await newAccount();
    await repo.changePassword(id, 'hash-a', at, null);
    const stale = session(id);
    expect(await repo.create(stale, 'hash-old')).toBe(false);
    expect(await repo.find(stale.idHash)).toBeNull();
    const ok = session(id);
    expect(await repo.create(ok, 'hash-a')).toBe(true);
    expect(await repo.find(ok.idHash)).toEqual(ok);
    // API key sign-ins have no password to check.
    expect(await repo.create(session(id), null)).toBe(true);

    // A password change holds the account's password row until it commits; a sign-in checked against
    // the old password waits for it, then sees the new one and starts nothing.
    const change = fixture.dataSource.createQueryRunner();
    await change.connect();
    try {
      await change.startTransaction();
      await change.query("UPDATE account_passwords SET password_hash = 'hash-b' WHERE account_id = $1", [id]);
      await change.query('DELETE FROM browser_sessions WHERE account_id = $1', [id]);
      const racing = session(id);
      const pending = repo.create(racing, 'hash-a');
      await waitFor(
        async () =>
          Number((await fixture.dataSource.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`))[0].n) > 0,
      );
      await change.commitTransaction();
      expect(await pending).toBe(false);
      expect(await repo.find(racing.idHash)).toBeNull();
    } finally {
      await change.release();
    }
  });

  it('refuses a session for an account that does not exist', async () => {
    await expect(repo.create(session(newId()))).rejects.toThrow();
  });
});

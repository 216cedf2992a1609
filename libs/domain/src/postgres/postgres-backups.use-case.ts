import { Readable } from 'node:stream';
import { Injectable, Logger } from '@nestjs/common';
import { Clock, ConfirmationRequiredError, InvalidInputError, NotFoundError, Page, RangeSpec, SecretBox, isUuid, newId } from '@app/common';
import { JobDispatcher } from '../shared/ports';
import { Store } from '../shared/store.port';
import { AppAccess } from '../apps/app-access';
import { PostgresAddon, PostgresAddons } from './postgres-addons';
import { PostgresClusterAdmin, tenantNames } from './postgres-cluster.port';
import { refuseDuringPgMove } from './pg-plan-moves';
import { BackupFiles } from './backup-files.port';
import { PostgresOptions } from './postgres.options';
import { PostgresBackup, PostgresRestore, backupName } from './postgres.models';

const BACKUP_NAME_RE = /^([ab])(\d{1,9})$/;
const RESTRICTED_MESSAGE = 'The database is over its storage limit and restricted; delete data (TRUNCATE) before restoring into it.';
/** A backup or restore whose job has not started by then is queued again. */
const REQUEUE_AFTER_MS = 5 * 60_000;
/** …and one still unfinished after this is given up. */
const GIVE_UP_AFTER_MS = 6 * 3600_000;

/**
 * Logical backups of PostgreSQL add-ons: capture, list, download by signed link, restore into
 * an add-on, and a daily schedule. Captures and restores run as worker jobs.
 */
@Injectable()
export class PostgresBackupsUseCase {
  private readonly logger = new Logger(PostgresBackupsUseCase.name);

  constructor(
    private readonly store: Store,
    private readonly addons: PostgresAddons,
    private readonly apps: AppAccess,
    private readonly admin: PostgresClusterAdmin,
    private readonly files: BackupFiles,
    private readonly jobs: JobDispatcher,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly options: PostgresOptions,
  ) {}

  async capture(accountId: string, addonRef: string): Promise<PostgresBackup> {
    const target = await this.addons.manageable(accountId, addonRef);
    const backup = await this.store.postgres.backups.create(this.newBackup(target.addon.id, 'manual', null));
    await this.jobs.postgresBackup(backup.id);
    return backup;
  }

  async list(accountId: string, addonRef: string, range: RangeSpec): Promise<Page<PostgresBackup>> {
    const target = await this.addons.viewable(accountId, addonRef);
    return this.store.postgres.backups.listForAddon(target.addon.id, range);
  }

  async get(accountId: string, addonRef: string, backupRef: string): Promise<PostgresBackup> {
    const target = await this.addons.viewable(accountId, addonRef);
    return this.findBackup(target.addon.id, backupRef);
  }

  /** A link that downloads the dump without further authentication until it expires. */
  async downloadLink(accountId: string, addonRef: string, backupRef: string, publicUrl: string): Promise<{ url: string; expiresAt: Date }> {
    const target = await this.addons.manageable(accountId, addonRef);
    const backup = await this.findBackup(target.addon.id, backupRef);
    if (backup.state !== 'completed') throw new InvalidInputError(`Backup ${backupName(backup)} is ${backup.state}; only completed backups can be downloaded.`);
    const expiresAt = new Date(this.clock.now().getTime() + this.options.downloadTtlMs);
    const token = Buffer.from(this.box.seal(JSON.stringify({ b: backup.id, e: expiresAt.getTime() }))).toString('base64url');
    // In the query string, which request logs leave out: the token alone opens the dump.
    return { url: `${publicUrl}/postgres-backups/download?token=${token}`, expiresAt };
  }

  /** Opens the file a download link names; the sealed token is the authorization. */
  async openDownload(token: string): Promise<{ stream: Readable; sizeBytes: number; fileName: string }> {
    let claims: { b: string; e: number };
    try {
      claims = JSON.parse(this.box.open(Buffer.from(token, 'base64url').toString('utf8'))) as { b: string; e: number };
    } catch {
      throw new NotFoundError('backup', 'This download link is not valid.');
    }
    if (claims.e < this.clock.now().getTime()) throw new NotFoundError('backup', 'This download link has expired; ask for a new one.');
    const backup = await this.store.postgres.backups.findById(claims.b);
    if (!backup || backup.state !== 'completed') throw new NotFoundError('backup', 'That backup no longer exists.');
    const addon = await this.store.addons.findById(backup.addonId);
    const file = await this.files.open(backup.addonId, backup.id);
    return { ...file, fileName: `${addon?.name ?? backup.addonId}-${backupName(backup)}.dump` };
  }

  /**
   * Replaces the target add-on's data with a backup of it or of another add-on the caller
   * manages. `confirm` must name the target's billing app: the current data is lost.
   */
  async restore(accountId: string, targetRef: string, input: { backup: string; from?: string | null; confirm?: string | null }): Promise<PostgresRestore> {
    const target = await this.addons.manageable(accountId, targetRef);
    const source = input.from ? await this.addons.manageable(accountId, input.from) : target;
    const backup = await this.findBackup(source.addon.id, input.backup);
    if (backup.state !== 'completed') throw new InvalidInputError(`Backup ${backupName(backup)} is ${backup.state}; only completed backups can be restored.`);
    this.assertNotRestricted(target);
    const app = (await this.store.apps.findById(target.addon.appId))!;
    await this.apps.member(accountId, app.id);
    if (input.confirm !== app.name) {
      throw new ConfirmationRequiredError(
        `Restoring replaces all data in ${target.addon.name}. To proceed, confirm with the app name ${app.name}.`,
      );
    }
    const restore: PostgresRestore = {
      id: newId(),
      addonId: target.addon.id,
      backupId: backup.id,
      state: 'pending',
      error: null,
      createdAt: this.clock.now(),
      startedAt: null,
      finishedAt: null,
    };
    // Recorded with the add-on locked, as a move is: either sees the other and refuses.
    await this.store.transaction(async (tx) => {
      const addon = await tx.addons.findByIdForUpdate(target.addon.id);
      if (!addon || addon.state !== 'provisioned') throw new InvalidInputError(`${target.addon.name} is ${addon?.state ?? 'gone'}; it cannot be restored into now.`, 'addon_not_ready');
      await refuseDuringPgMove(tx, target.service, addon, 'it can be restored into');
      await tx.postgres.restores.create(restore);
    });
    await this.jobs.postgresRestore(restore.id);
    return restore;
  }

  async listRestores(accountId: string, addonRef: string, range: RangeSpec): Promise<Page<PostgresRestore>> {
    const target = await this.addons.viewable(accountId, addonRef);
    return this.store.postgres.restores.listForAddon(target.addon.id, range);
  }

  async getRestore(accountId: string, addonRef: string, restoreId: string): Promise<PostgresRestore> {
    const target = await this.addons.viewable(accountId, addonRef);
    const restore = isUuid(restoreId) ? await this.store.postgres.restores.findById(restoreId) : null;
    if (!restore || restore.addonId !== target.addon.id) throw new NotFoundError('restore', "Couldn't find that restore.");
    return restore;
  }

  /** The daily schedule: an hour of the day, UTC (null clears it). */
  async schedule(accountId: string, addonRef: string, hourUtc: number | null): Promise<PostgresAddon> {
    const target = await this.addons.manageable(accountId, addonRef);
    if (hourUtc !== null && (!Number.isInteger(hourUtc) || hourUtc < 0 || hourUtc > 23)) {
      throw new InvalidInputError('The backup hour is a whole number from 0 to 23 (UTC).');
    }
    await this.store.postgres.databases.update(target.addon.id, { backupHourUtc: hourUtc, updatedAt: this.clock.now() });
    return { ...target, database: { ...target.database, backupHourUtc: hourUtc } };
  }

  async scheduleOf(accountId: string, addonRef: string): Promise<PostgresAddon> {
    return this.addons.viewable(accountId, addonRef);
  }

  /** Worker: dumps the database into the backup's file. Safe to run again after a crash. */
  async runBackup(backupId: string): Promise<'done' | 'skipped'> {
    const backup = await this.store.postgres.backups.findById(backupId);
    if (!backup || backup.state === 'completed' || backup.state === 'failed') return 'skipped';
    const target = await this.addons.byId(backup.addonId);
    if (!target) {
      await this.finish(backup, { state: 'failed', error: 'The add-on is gone.' });
      return 'done';
    }
    await this.store.postgres.backups.update(backup.id, { state: 'running', startedAt: this.clock.now() });
    try {
      const sizeBytes = await this.admin.dump(target.backend, target.database.databaseName, this.files.pathFor(backup.addonId, backup.id));
      await this.finish(backup, { state: 'completed', sizeBytes, error: null });
    } catch (error) {
      // The tool's own message names cluster internals: it goes to the log, the user gets the backup's id.
      this.logger.warn({ backupId, err: (error as Error).message }, 'backup failed');
      await this.finish(backup, { state: 'failed', error: `The backup could not be taken (reference ${backup.id}); try again, or contact support with the reference.` });
      await this.files.remove(backup.addonId, backup.id);
    }
    await this.prune(backup.addonId, backup.kind);
    return 'done';
  }

  /** Worker: loads the backup into the target database. Safe to run again (pg_restore --clean). */
  async runRestore(restoreId: string): Promise<'done' | 'skipped'> {
    const restore = await this.store.postgres.restores.findById(restoreId);
    if (!restore || restore.state === 'completed' || restore.state === 'failed') return 'skipped';
    const target = await this.addons.byId(restore.addonId);
    const backup = await this.store.postgres.backups.findById(restore.backupId);
    const now = () => this.clock.now();
    if (!target || !backup || backup.state !== 'completed') {
      await this.store.postgres.restores.update(restore.id, { state: 'failed', error: 'The add-on or the backup is gone.', finishedAt: now() });
      return 'done';
    }
    if (target.database.restrictedAt) {
      await this.store.postgres.restores.update(restore.id, { state: 'failed', error: RESTRICTED_MESSAGE, finishedAt: now() });
      return 'done';
    }
    await this.store.postgres.restores.update(restore.id, { state: 'running', startedAt: now() });
    try {
      await this.admin.restore(target.backend, tenantNames(target.addon.id), this.files.pathFor(backup.addonId, backup.id));
      await this.store.postgres.restores.update(restore.id, { state: 'completed', error: null, finishedAt: now() });
    } catch (error) {
      this.logger.warn({ restoreId, err: (error as Error).message }, 'restore failed');
      await this.store.postgres.restores.update(restore.id, { state: 'failed', error: `pg_restore failed: ${(error as Error).message}`, finishedAt: now() });
    }
    return 'done';
  }

  /**
   * Maintenance: queues again backups and restores whose job was lost (an enqueue that failed, a
   * worker that died on every attempt), and gives up on those that never finish.
   */
  async requeueStalled(): Promise<number> {
    const now = this.clock.now().getTime();
    const olderThan = new Date(now - REQUEUE_AFTER_MS);
    const giveUp = (createdAt: Date) => createdAt.getTime() < now - GIVE_UP_AFTER_MS;
    const failure = { state: 'failed' as const, error: 'It did not finish in time and was given up.', finishedAt: new Date(now) };
    let requeued = 0;
    for (const backup of await this.store.postgres.backups.listUnfinished(olderThan, 100)) {
      if (giveUp(backup.createdAt)) {
        await this.store.postgres.backups.update(backup.id, failure);
        await this.files.remove(backup.addonId, backup.id);
      } else {
        await this.jobs.postgresBackup(backup.id);
        requeued++;
      }
    }
    for (const restore of await this.store.postgres.restores.listUnfinished(olderThan, 100)) {
      if (giveUp(restore.createdAt)) await this.store.postgres.restores.update(restore.id, failure);
      else {
        await this.jobs.postgresRestore(restore.id);
        requeued++;
      }
    }
    return requeued;
  }

  /** Maintenance: today's scheduled backup for every database whose hour has come. */
  async enqueueScheduled(): Promise<number> {
    const now = this.clock.now();
    const today = now.toISOString().slice(0, 10);
    let queued = 0;
    for (const database of await this.store.postgres.databases.listActive()) {
      if (database.backupHourUtc === null || now.getUTCHours() < database.backupHourUtc) continue;
      const backup = await this.store.postgres.backups.createScheduledIfAbsent(this.newBackup(database.addonId, 'scheduled', today));
      if (backup) {
        await this.jobs.postgresBackup(backup.id);
        queued++;
      }
    }
    return queued;
  }

  private newBackup(addonId: string, kind: PostgresBackup['kind'], scheduledFor: string | null): Omit<PostgresBackup, 'number'> {
    return { id: newId(), addonId, kind, state: 'pending', scheduledFor, sizeBytes: null, error: null, createdAt: this.clock.now(), startedAt: null, finishedAt: null };
  }

  private async finish(backup: PostgresBackup, patch: Partial<PostgresBackup>): Promise<void> {
    await this.store.postgres.backups.update(backup.id, { ...patch, finishedAt: this.clock.now() });
  }

  private async prune(addonId: string, kind: PostgresBackup['kind']): Promise<void> {
    const keep = kind === 'manual' ? this.options.manualBackupsKept : this.options.scheduledBackupsKept;
    for (const expired of await this.store.postgres.backups.listExpired(addonId, kind, keep)) {
      // A restore reading it keeps it until the next prune.
      if (await this.store.postgres.restores.isBackupInUse(expired.id)) continue;
      await this.files.remove(addonId, expired.id);
      await this.store.postgres.backups.delete(expired.id);
    }
  }

  private assertNotRestricted(target: PostgresAddon): void {
    if (target.database.restrictedAt) throw new InvalidInputError(RESTRICTED_MESSAGE, 'addon_restricted');
  }

  private async findBackup(addonId: string, ref: string): Promise<PostgresBackup> {
    const match = BACKUP_NAME_RE.exec(ref);
    const backup = isUuid(ref)
      ? await this.store.postgres.backups.findById(ref)
      : match
        ? await this.store.postgres.backups.findByAddonAndNumber(addonId, match[1] === 'a' ? 'scheduled' : 'manual', Number(match[2]))
        : null;
    if (!backup || backup.addonId !== addonId) throw new NotFoundError('backup', `Couldn't find backup ${ref}.`);
    return backup;
  }
}

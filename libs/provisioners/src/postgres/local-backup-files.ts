import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { NotFoundError } from '@app/common';
import { BackupFiles, PostgresOptions } from '@app/domain';

/** Backup files on local disk: `<backupDir>/<addonId>/<backupId>.dump`. */
@Injectable()
export class LocalBackupFiles extends BackupFiles {
  constructor(private readonly options: PostgresOptions) {
    super();
  }

  pathFor(addonId: string, backupId: string): string {
    return join(this.options.backupDir, addonId, `${backupId}.dump`);
  }

  async open(addonId: string, backupId: string): Promise<{ stream: Readable; sizeBytes: number }> {
    const path = this.pathFor(addonId, backupId);
    const info = await stat(path).catch(() => null);
    if (!info) throw new NotFoundError('backup', 'The backup file is missing.');
    return { stream: createReadStream(path), sizeBytes: info.size };
  }

  async remove(addonId: string, backupId: string): Promise<void> {
    await rm(this.pathFor(addonId, backupId), { force: true });
  }

  async removeAll(addonId: string): Promise<void> {
    await rm(join(this.options.backupDir, addonId), { recursive: true, force: true });
  }
}

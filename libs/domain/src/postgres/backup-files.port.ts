import { Readable } from 'node:stream';

/** Where backup files live. Local disk today; an object store would implement the same. */
export abstract class BackupFiles {
  /** The path a dump of this backup is written to (the cluster adapter writes it). */
  abstract pathFor(addonId: string, backupId: string): string;
  abstract open(addonId: string, backupId: string): Promise<{ stream: Readable; sizeBytes: number }>;
  /** Removes the file if it exists. */
  abstract remove(addonId: string, backupId: string): Promise<void>;
  /** Removes every file of the add-on. */
  abstract removeAll(addonId: string): Promise<void>;
}

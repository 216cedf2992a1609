import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Flushes a directory's entries to disk: a file created, renamed or removed in it survives a power loss. */
export async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * Writes `text` to `path` whole: into a temporary file beside it, synced, then renamed over it
 * and the directory synced. After a crash or a power loss the path holds the old content (or
 * nothing) or the new, never a torn or empty file. `prepare` runs on the temporary file before
 * the rename (to give it its owner).
 */
export async function writeFileDurably(path: string, text: string, options: { mode: number; prepare?: (tmp: string) => Promise<void> }): Promise<void> {
  const tmp = `${path}.new`;
  const file = await open(tmp, 'w', options.mode);
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await options.prepare?.(tmp);
  await rename(tmp, path);
  await syncDirectory(dirname(path));
}

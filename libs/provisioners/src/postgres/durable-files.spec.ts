import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileDurably } from './durable-files';

describe('writeFileDurably', () => {
  const root = join(tmpdir(), `attache-test-durable-${randomBytes(4).toString('hex')}`);
  const freshDir = () => {
    const dir = join(root, randomBytes(4).toString('hex'));
    mkdirSync(dir, { recursive: true });
    return dir;
  };

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes the file whole with its mode, and leaves no temporary file', async () => {
    const dir = freshDir();
    const path = join(dir, 'pgpass');
    await writeFileDurably(path, 'a:1:b:c:secret\n', { mode: 0o600 });
    expect(readFileSync(path, 'utf8')).toBe('a:1:b:c:secret\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['pgpass']);
  });

  it('replaces an existing file only after the new content is complete (prepare sees the old one still in place)', async () => {
    const dir = freshDir();
    const path = join(dir, 'mark');
    writeFileSync(path, 'old\n');
    const seen: string[] = [];
    await writeFileDurably(path, 'new\n', {
      mode: 0o600,
      prepare: async (tmp) => {
        seen.push(readFileSync(tmp, 'utf8'), readFileSync(path, 'utf8'));
      },
    });
    expect(seen).toEqual(['new\n', 'old\n']);
    expect(readFileSync(path, 'utf8')).toBe('new\n');
    expect(readdirSync(dir)).toEqual(['mark']);
  });
});

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { randomBytes, randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { herokuCliSuite } from '../support/heroku-cli-suite';

const root = join(tmpdir(), `attache-test-cli-pgd-${randomBytes(4).toString('hex')}`);
const worker = (Number(process.env.JEST_WORKER_ID ?? '1') - 1) % 8;
const portMin = 29_600 + worker * 10 + randomInt(0, 1) * 5;

/**
 * The real Heroku CLI (npm heroku@11) creating dedicated PostgreSQL add-ons with options after
 * `--` (rollback, fork), which arrive in the create request's config, and psql on the URLs.
 */
describe('the Heroku CLI with dedicated PostgreSQL', () => {
  const suite = herokuCliSuite('cli-pgd', {
    postgres: true,
    env: { ATTACHE_PG_DEDICATED_DIR: root, ATTACHE_PG_DEDICATED_PORTS: `${portMin}-${portMin + 4}`, PROVIDER_TIMEOUT_MS: '30000' },
  });
  const { heroku } = suite;

  afterAll(async () => {
    // No supervision may start a cluster again while they are stopped here (the suite's afterAll stops the rest of Attache).
    await suite.attache.stopWorker();
    for (const key of existsSync(root) ? readdirSync(root) : []) {
      const data = join(root, key, 'data');
      if (!existsSync(join(data, 'postmaster.pid'))) continue;
      try {
        execFileSync('runuser', ['-u', 'postgres', '--', '/usr/lib/postgresql/15/bin/pg_ctl', '-D', data, '-m', 'immediate', '-w', 'stop'], { cwd: '/', stdio: 'ignore' });
      } catch {
        // already stopped
      }
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('rolls back with --rollback DATABASE_URL --to, forks with --fork, and refuses a moment outside the window', async () => {
    const app = await suite.newApp('pgd');
    const created = await heroku('addons:create', 'postgresql:standard-0', '-a', app, '--wait');
    const source = /Created (\S+) as DATABASE_URL/.exec(created)?.[1];
    expect(source).toMatch(/^postgresql-[a-z]+-\d+$/);
    const url = (await heroku('config:get', 'DATABASE_URL', '-a', app)).trim();
    expect((await psql(url, 'CREATE TABLE notes (body text)', "INSERT INTO notes VALUES ('kept')")).code).toBe(0);
    // The moment noted must not fall in the millisecond of the insert's commit (commit times have microseconds).
    await new Promise((r) => setTimeout(r, 20));
    const noted = new Date();
    await new Promise((r) => setTimeout(r, 50));
    expect((await psql(url, 'DELETE FROM notes')).code).toBe(0);

    // The CLI's own format for the moment: '2026-11-20 10:00:00.123+00'.
    const to = noted.toISOString().replace('T', ' ').replace('Z', '+00');
    const rolled = await heroku('addons:create', 'postgresql:standard-0', '-a', app, '--as', 'ROLLED', '--wait', '--', '--rollback', 'DATABASE_URL', '--to', to);
    expect(rolled).toContain('as ROLLED_URL');
    const rolledUrl = (await heroku('config:get', 'ROLLED_URL', '-a', app)).trim();
    expect((await psql(rolledUrl, 'SELECT body FROM notes')).output).toMatch(/kept\n\(1 row\)/);
    expect((await psql(url, 'SELECT count(*) FROM notes')).output).toMatch(/\b0\n\(1 row\)/);

    await heroku('addons:create', 'postgresql:standard-0', '-a', app, '--as', 'FORKED', '--wait', '--', '--fork', source!);
    const forkedUrl = (await heroku('config:get', 'FORKED_URL', '-a', app)).trim();
    expect((await psql(forkedUrl, "INSERT INTO notes VALUES ('in the fork')", 'SELECT count(*) FROM notes')).output).toMatch(/\b1\n\(1 row\)/);
    expect((await psql(url, 'SELECT count(*) FROM notes')).output).toMatch(/\b0\n\(1 row\)/);

    const refused = await suite.cli.run(['addons:create', 'postgresql:standard-0', '-a', app, '--', '--rollback', 'DATABASE', '--by', '5 days'], { timeoutMs: 60_000 });
    expect(refused.code).not.toBe(0);
    // The CLI wraps its error message across lines.
    expect(refused.output.replace(/[\s›·]+/g, ' ')).toMatch(/outside the rollback window of postgresql-[a-z]+-\d+: from \d{4}-.* to \d{4}-/);
  });
});

/** psql with a clean environment (no PG* variables, no psqlrc), each statement as its own -c. */
function psql(url: string, ...statements: string[]): Promise<{ code: number; output: string }> {
  const args = [url, '-X', '-v', 'ON_ERROR_STOP=1', ...statements.flatMap((s) => ['-c', s])];
  return new Promise((resolve, reject) => {
    execFile('psql', args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' }, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? Number(error.code) : 0, output: stdout + stderr });
    });
  });
}

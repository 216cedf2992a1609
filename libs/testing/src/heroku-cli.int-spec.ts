import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { ensureHerokuCli, HEROKU_CLI_DIR, HerokuCli } from './heroku-cli';

describe('HerokuCli harness', () => {
  it('installs or reuses the pinned CLI', () => {
    ensureHerokuCli();
    expect(existsSync(join(HEROKU_CLI_DIR, 'node_modules', '.bin', 'heroku'))).toBe(true);
  }, 300_000);

  it('runs `heroku --version` without a server', async () => {
    const cli = new HerokuCli({ host: 'http://127.0.0.1:1', apiKey: 'x' });
    try {
      const res = await cli.run(['--version']);
      expect(res.code).toBe(0);
      expect(res.output).toContain('heroku/11.10.0');
      // The scratch HOME silenced the terms-of-service banner.
      expect(res.output).not.toContain('terms of service');
    } finally {
      cli.cleanup();
    }
  }, 60_000);

  it('rejects hosts the CLI would silently replace with api.heroku.com (P1)', () => {
    expect(() => new HerokuCli({ host: 'http://0.0.0.0:5000', apiKey: 'x' })).toThrow(/127\.0\.0\.1/);
  });
});

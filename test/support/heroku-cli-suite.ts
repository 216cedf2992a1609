import { randomBytes } from 'node:crypto';
import { HerokuCli, ensureHerokuCli } from '@app/testing';
import { AttacheHarness, HarnessOptions } from './attache-harness';

/** What a Heroku CLI end-to-end file works with; the fields are there from its beforeAll on. */
export interface HerokuCliSuite {
  readonly attache: AttacheHarness;
  /** The API key of the file's own account, which the CLI is logged in as. */
  readonly apiKey: string;
  readonly cli: HerokuCli;
  /** `heroku ...args`: its output, or an error with the output when it exits non-zero. */
  heroku(...args: string[]): Promise<string>;
  /** An app of the test's own, made over the API: the CLI's apps commands are covered elsewhere. */
  newApp(prefix: string): Promise<string>;
}

/**
 * The real Heroku CLI (npm heroku@11) against a running Attache: registers the describe block's
 * beforeAll (the pinned CLI installed, Attache started with `options`, an account named after
 * `account`, the CLI logged in as it) and afterAll (the CLI's scratch home and Attache removed).
 */
export function herokuCliSuite(account: string, options: HarnessOptions = {}): HerokuCliSuite {
  let attache: AttacheHarness | undefined;
  let apiKey: string | undefined;
  let cli: HerokuCli | undefined;

  beforeAll(async () => {
    ensureHerokuCli();
    attache = await AttacheHarness.start(options);
    apiKey = (await attache.createAccount(account)).apiKey;
    cli = new HerokuCli({ host: attache.url, apiKey });
  }, 600_000);

  afterAll(async () => {
    cli?.cleanup();
    await attache?.stop();
  });

  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the Heroku CLI suite is used before its beforeAll has run');
    return value;
  };
  return {
    get attache() {
      return started(attache);
    },
    get apiKey() {
      return started(apiKey);
    },
    get cli() {
      return started(cli);
    },
    async heroku(...args: string[]) {
      const result = await started(cli).run(args, { timeoutMs: 60_000 });
      if (result.code !== 0) throw new Error(`heroku ${args.join(' ')} exited ${result.code}:\n${result.output}`);
      return result.output;
    },
    async newApp(prefix: string) {
      return (await started(attache).createApp(started(apiKey), `${prefix}-${randomBytes(3).toString('hex')}`)).name;
    },
  };
}

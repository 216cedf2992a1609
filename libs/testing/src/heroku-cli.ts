import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';

/**
 * Drives the real Heroku CLI (npm `heroku`, pinned in test/heroku-cli/package-lock.json)
 * against a local broker. Pitfall numbers (P1..P16) refer to
 * /work/shared/reference/heroku-cli-client.md.
 */

/** Absolute path of test/heroku-cli (this file lives at libs/testing/src). */
export const HEROKU_CLI_DIR: string = resolve(__dirname, '../../../test/heroku-cli');

const HEROKU_BIN = join(HEROKU_CLI_DIR, 'node_modules', '.bin', 'heroku');
const DEFAULT_TIMEOUT_MS = 60_000;

/** Installs the pinned CLI with `npm ci` unless node_modules is already up to date. */
export function ensureHerokuCli(): void {
  execFileSync('bash', [join(HEROKU_CLI_DIR, 'install.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 10 * 60_000,
  });
}

export interface HerokuRunResult {
  /** Exit code; 124 when run() timed out (as with timeout(1)), 128+N when killed by signal N. */
  code: number;
  stdout: string;
  stderr: string;
  /** stdout followed by stderr. Status lines ("Creating ... done") are on stderr (P14). */
  output: string;
}

export interface HerokuCliOptions {
  /** API base URL, e.g. http://127.0.0.1:5000 */
  host: string;
  apiKey: string;
  /** Scratch HOME; a fresh mkdtemp directory under os.tmpdir() when omitted. */
  home?: string;
}

export class HerokuCli {
  readonly home: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly ownsHome: boolean;

  constructor(opts: HerokuCliOptions) {
    const url = new URL(opts.host);
    // P1: any other hostname makes the CLI silently fall back to https://api.heroku.com.
    // P2: a path would be ignored, so refuse it rather than hit the wrong routes.
    if (!['127.0.0.1', 'localhost'].includes(url.hostname) || url.pathname !== '/') {
      throw new Error(`HerokuCli host must be http(s)://127.0.0.1:PORT with no path, got ${opts.host}`);
    }
    const host = url.origin;

    this.ownsHome = opts.home === undefined;
    this.home = opts.home ?? mkdtempSync(join(tmpdir(), 'attache-heroku-cli-'));
    const cache = join(this.home, '.cache');
    mkdirSync(join(cache, 'heroku'), { recursive: true });
    // Marks the one-time "terms of service have changed" warning as seen.
    closeSync(openSync(join(cache, 'heroku', 'terms-of-service'), 'a'));

    // A clean env, so the parent's HEROKU_APP, HEROKU_HEADERS, proxies, DATABASE_URL... never leak in.
    this.env = {
      // Same node as the test runner first (the bin's shebang is `env node`).
      PATH: [dirname(process.execPath), process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'].join(delimiter),
      LANG: process.env.LANG ?? 'C.UTF-8',
      HOME: this.home, // P3: the CLI writes ~/.gitconfig, caches and config on every run
      XDG_CACHE_HOME: cache,
      XDG_CONFIG_HOME: join(this.home, '.config'),
      XDG_DATA_HOME: join(this.home, '.local', 'share'),
      GIT_CONFIG_NOSYSTEM: '1',
      HEROKU_HOST: host,
      HEROKU_API_KEY: opts.apiKey, // P4: a 401 fails fast instead of starting a browser login
      HEROKU_PARTICLEBOARD_URL: host, // P5
      DISABLE_TELEMETRY: 'true',
      HEROKU_SKIP_NEW_VERSION_CHECK: 'true',
      HEROKU_DISABLE_AUTOUPDATE: 'true',
      HEROKU_NOTIFICATIONS: '0',
      HEROKU_GIT_HOST: '127.0.0.1',
      NO_COLOR: '1',
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
      BROWSER: '/bin/true', // P8 (DISPLAY is left unset)
    };
  }

  /**
   * Runs `heroku ...args` with stdin closed (P7: confirmation prompts then exit 0 instead of hanging)
   * and cwd = the scratch HOME, which is not a git repo (P6: no app inferred from git remotes).
   * Never rejects for a non-zero exit; rejects only if the CLI cannot be spawned.
   */
  run(args: string[], opts: { timeoutMs?: number } = {}): Promise<HerokuRunResult> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolvePromise, reject) => {
      // detached: own process group, so a timeout also kills anything the CLI spawned (P13: --wait polls forever).
      const child = spawn(HEROKU_BIN, args, {
        cwd: this.home,
        env: this.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let stdout = '';
      let stderr = '';
      let settled = false;
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

      const finish = (code: number): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolvePromise({ code, stdout, stderr, output: stdout + stderr });
      };
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
        // Resolve now: a grandchild outside the group could keep the pipes open forever.
        finish(124);
      }, timeoutMs);

      child.on('error', (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new Error(`cannot run ${HEROKU_BIN} (did you call ensureHerokuCli()?): ${err.message}`));
      });
      child.on('close', (code, signal) =>
        finish(code ?? 128 + (signal ? constants.signals[signal] : 0)),
      );
    });
  }

  /** Removes the scratch HOME if this instance created it. */
  cleanup(): void {
    if (this.ownsHome) rmSync(this.home, { recursive: true, force: true });
  }
}

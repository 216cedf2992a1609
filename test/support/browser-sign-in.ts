import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { AttacheHarness } from './attache-harness';

const BIN = join(__dirname, '..', '..', 'bin', 'attache.js');

/** `attache accounts:password EMAIL` with the password on stdin, from the compiled output, on the harness's database. */
export function setPassword(attache: AttacheHarness, email: string, password: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const home = mkdtempSync(join(tmpdir(), 'attache-cli-'));
  const env = { PATH: process.env.PATH ?? '', HOME: home, ...attache.env, NODE_ENV: 'test' };
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, 'accounts:password', email], { env, cwd: home, timeout: 60_000 }, (error, stdout, stderr) => {
      rmSync(home, { recursive: true, force: true });
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
    child.stdin?.end(`${password}\n`);
  });
}

/** The value of the hidden or visible input `name` in a page. */
export function inputValue(page: string, name: string): string | undefined {
  return new RegExp(`name="${name}" value="([^"]*)"`).exec(page)?.[1];
}

/** `name=value` of the Set-Cookie header for `name`, and the whole header. */
export function setCookie(response: request.Response, name: string): { pair: string; header: string } | undefined {
  const headers = ([] as string[]).concat(response.headers['set-cookie'] ?? []);
  const header = headers.find((h) => h.startsWith(`${name}=`));
  return header ? { pair: header.split(';')[0], header } : undefined;
}

/** What a browser at /login holds: the sign-in form cookie and the form's token. */
export async function openSignInForm(attache: AttacheHarness): Promise<{ cookie: string; csrf: string }> {
  const form = await attache.http().get('/login');
  const cookie = setCookie(form, 'attache_sign_in');
  const csrf = inputValue(form.text, '_csrf');
  if (form.status !== 200 || !cookie || !csrf) throw new Error(`GET /login: ${form.status}`);
  return { cookie: cookie.pair, csrf };
}

/** Posts the sign-in form as a browser on Attache's page would (same Origin, the form's cookie and token). */
export async function postSignIn(attache: AttacheHarness, fields: Record<string, string>) {
  const { cookie, csrf } = await openSignInForm(attache);
  return attache.http().post('/login').set('Cookie', cookie).set('Origin', attache.url).type('form').send({ _csrf: csrf, ...fields });
}

/** Signs in with email and password; the session cookie (`attache_session=…`). */
export async function signIn(attache: AttacheHarness, fields: Record<string, string>): Promise<string> {
  const response = await postSignIn(attache, fields);
  const session = setCookie(response, 'attache_session');
  if (response.status !== 303 || !session) throw new Error(`sign-in failed: ${response.status} ${response.text.slice(0, 200)}`);
  return session.pair;
}

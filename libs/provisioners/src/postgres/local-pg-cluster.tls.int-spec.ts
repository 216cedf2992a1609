import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes, randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, ClientConfig } from 'pg';
import { PgClusterSpec, PgDedicatedOptions } from '@app/domain';
import { LocalPgClusterDriver } from './local-pg-cluster.driver';

const execFileAsync = promisify(execFile);
const PSQL = '/usr/lib/postgresql/15/bin/psql';
const asRoot = process.getuid?.() === 0;

/**
 * The local driver's TLS and listen address on real postmasters: a cluster made with TLS takes
 * tenants over TLS only (node-postgres and libpq alike) and keeps it across restarts whatever the
 * setting says later; one made without keeps taking plain connections; a CA-signed pair put in
 * place of the self-signed one is served; a host address is listened on and kept.
 */
describe('LocalPgClusterDriver TLS and address', () => {
  const root = join(tmpdir(), `attache-test-pgtls-${randomBytes(4).toString('hex')}`);
  const worker = (Number(process.env.JEST_WORKER_ID ?? '1') - 1) % 8;
  const portBase = 11_000 + worker * 12 + randomInt(0, 2) * 6;
  const base: PgDedicatedOptions = { rootDir: root, portMin: portBase, portMax: portBase + 5, superviseIntervalMs: 1000, baseBackupIntervalMs: 60_000, archiveRetentionMs: 0 };
  const withTls = new LocalPgClusterDriver({ ...base, tls: true });
  const withoutTls = new LocalPgClusterDriver({ ...base, tls: false });
  const spec = (n: number): PgClusterSpec => ({ key: `tls-${n}`, port: portBase + n, database: 'd_tls', ownerRole: 'u_tls', ownerPassword: randomBytes(12).toString('hex') });
  const specs = [0, 1, 2, 3, 4].map(spec);
  const clients: Client[] = [];

  const connect = async (s: PgClusterSpec, ssl: ClientConfig['ssl'], host = '127.0.0.1') => {
    const client = new Client({ host, port: s.port, user: s.ownerRole, password: s.ownerPassword, database: s.database, ssl, connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  };
  const sslInUse = async (client: Client) => (await client.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0].ssl;
  /** libpq's answer: psql with the password in the environment, as apps using the URL's sslmode would connect. */
  const psql = async (s: PgClusterSpec, sslmode: string) => {
    const { stdout } = await execFileAsync(PSQL, ['-h', '127.0.0.1', '-p', String(s.port), '-U', s.ownerRole, '-d', s.database, '-Atc', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'], {
      env: { PATH: process.env.PATH, PGPASSWORD: s.ownerPassword, PGSSLMODE: sslmode, PGCONNECT_TIMEOUT: '5' },
    });
    return stdout.trim();
  };
  const tlsFile = (s: PgClusterSpec, name: string) => join(root, s.key, 'tls', name);
  const kill = (s: PgClusterSpec) => {
    const pid = Number(readFileSync(join(root, s.key, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGKILL');
  };
  /** Supervision's start after a SIGKILL, tried until the dead postmaster no longer holds its socket's lock file. */
  const startAgain = async (driver: LocalPgClusterDriver, s: PgClusterSpec) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const outcome = await driver.start(s).catch((error: Error) => error);
      if (outcome === 'running' || Date.now() > deadline) return outcome;
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.end()));
  });

  afterAll(async () => {
    for (const s of specs) await withTls.remove(s).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it('gives a cluster made with TLS a key of mode 0600 owned by postgres, and takes tenants over TLS only', async () => {
    const s = specs[0];
    expect(await withTls.ensure(s, { kind: 'new' })).toEqual({ tls: true });
    const key = statSync(tlsFile(s, 'server.key'));
    expect(key.mode & 0o777).toBe(0o600);
    if (asRoot) expect(key.uid).toBe(Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()));
    expect(readFileSync(tlsFile(s, 'server.crt'), 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);

    await expect(connect(s, false)).rejects.toThrow(/no encryption/);
    expect(await sslInUse(await connect(s, { rejectUnauthorized: false }))).toBe(true);
    await expect(psql(s, 'disable')).rejects.toThrow(/no encryption/);
    expect(await psql(s, 'require')).toBe('t');
    // The superuser stays off TCP, encrypted or not.
    await expect(connect({ ...s, ownerRole: 'postgres' }, { rejectUnauthorized: false })).rejects.toThrow(/rejects connection/);
  });

  it('keeps TLS across a crash and start, a retried ensure, and a setting turned off since', async () => {
    const s = specs[0];
    const certificate = readFileSync(tlsFile(s, 'server.crt'), 'utf8');
    kill(s);
    expect(await startAgain(withoutTls, s)).toBe('running');
    expect(await withoutTls.ensure(s, { kind: 'new' })).toEqual({ tls: true });
    await expect(connect(s, false)).rejects.toThrow(/no encryption/);
    expect(await psql(s, 'require')).toBe('t');
    expect(readFileSync(tlsFile(s, 'server.crt'), 'utf8')).toBe(certificate);
  });

  it('leaves a cluster made without TLS as it was when TLS is turned on later', async () => {
    const s = specs[1];
    expect(await withoutTls.ensure(s, { kind: 'new' })).toEqual({ tls: false });
    expect(await sslInUse(await connect(s, false))).toBe(false);
    kill(s);
    expect(await startAgain(withTls, s)).toBe('running');
    expect(await withTls.ensure(s, { kind: 'new' })).toEqual({ tls: false });
    expect(await sslInUse(await connect(s, false))).toBe(false);
    expect(await psql(s, 'disable')).toBe('f');
    await expect(psql(s, 'require')).rejects.toThrow(/does not support SSL/);
    expect(existsSync(join(root, s.key, 'tls'))).toBe(false);
  });

  it('gives a fork of a TLS cluster a key of its own, and removal takes the key with the data', async () => {
    const source = specs[0];
    const fork = { ...specs[2], ownerRole: source.ownerRole, database: source.database };
    expect(await withTls.ensure(fork, { kind: 'fork', source })).toEqual({ tls: true });
    expect(readFileSync(tlsFile(fork, 'server.key'), 'utf8')).not.toBe(readFileSync(tlsFile(source, 'server.key'), 'utf8'));
    expect(await sslInUse(await connect(fork, { rejectUnauthorized: false }))).toBe(true);
    await withTls.remove(fork);
    expect(existsSync(join(root, fork.key, 'tls'))).toBe(false);
    expect(existsSync(join(root, fork.key, 'removed'))).toBe(true);
  });

  it('serves a CA-signed certificate put in place of the self-signed one, which clients can verify', async () => {
    const s = specs[3];
    expect(await withTls.ensure(s, { kind: 'new' })).toEqual({ tls: true });
    const ca = mkdtempSync(join(tmpdir(), 'attache-test-ca-'));
    try {
      const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: ca, stdio: 'pipe' });
      openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Test CA']);
      openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
      writeFileSync(join(ca, 'san.cnf'), 'subjectAltName = IP:127.0.0.1\n');
      openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.cnf']);
      // As an operator would: both files replaced, owned by postgres, the key 0600; then a reload.
      for (const name of ['server.crt', 'server.key']) {
        execFileSync('install', ['-m', '0600', ...(asRoot ? ['-o', 'postgres', '-g', 'postgres'] : []), join(ca, name), tlsFile(s, name)]);
      }
      const data = join(root, s.key, 'data');
      execFileSync(...((asRoot ? ['runuser', ['-u', 'postgres', '--', '/usr/lib/postgresql/15/bin/pg_ctl', '-D', data, 'reload']] : ['/usr/lib/postgresql/15/bin/pg_ctl', ['-D', data, 'reload']]) as [string, string[]]), { cwd: '/' });
      const verified = async () => sslInUse(await connect(s, { ca: readFileSync(join(ca, 'ca.crt'), 'utf8'), rejectUnauthorized: true }));
      const deadline = Date.now() + 10_000;
      let last: unknown;
      for (;;) {
        const outcome = await verified().then((ssl) => ssl, (error: unknown) => ((last = error), null));
        if (outcome === true) break;
        if (Date.now() > deadline) throw last;
        await new Promise((r) => setTimeout(r, 200));
      }
      // A start (after a crash) keeps the pair rather than making a new one.
      kill(s);
      expect(await startAgain(withTls, s)).toBe('running');
      expect(await verified()).toBe(true);
      expect(readFileSync(tlsFile(s, 'server.crt'), 'utf8')).toBe(readFileSync(join(ca, 'server.crt'), 'utf8'));
    } finally {
      rmSync(ca, { recursive: true, force: true });
    }
  });

  it('refuses a host address that is not one, before anything is made', async () => {
    const s = specs[4];
    await expect(withoutTls.ensure({ ...s, address: "127.0.0.2' port=1" }, { kind: 'new' })).rejects.toThrow(/Invalid cluster address/);
    expect(existsSync(join(root, s.key))).toBe(false);
  });

  it('listens on the host address besides loopback, and keeps it for a start that names none', async () => {
    const s = specs[4];
    expect(await withoutTls.ensure({ ...s, address: '127.0.0.2' }, { kind: 'new' })).toEqual({ tls: false });
    expect(await sslInUse(await connect(s, false, '127.0.0.2'))).toBe(false);
    kill(s);
    expect(await startAgain(withoutTls, s)).toBe('running');
    expect(await sslInUse(await connect(s, false, '127.0.0.2'))).toBe(false);
  });
});

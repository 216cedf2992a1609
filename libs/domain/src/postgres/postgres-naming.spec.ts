import fc from 'fast-check';
import { postgresUrl } from './postgres-backends.service';
import { tenantNames } from './postgres-cluster.port';
import { backupName } from './postgres.models';
import { essentialLimits, formatBytes, isEssentialPlan, storageLimitBytes } from './postgres-plans';

describe('essential plans', () => {
  it('have the limits of the catalog', () => {
    expect(essentialLimits({ name: 'essential-0' })).toEqual({ connections: 20, storageGb: 1 });
    expect(essentialLimits({ name: 'essential-1' })).toEqual({ connections: 20, storageGb: 10 });
    expect(essentialLimits({ name: 'essential-2' })).toEqual({ connections: 40, storageGb: 32 });
    expect(isEssentialPlan('standard-0')).toBe(false);
    expect(() => essentialLimits({ name: 'standard-0' })).toThrow('not a shared plan');
  });

  it('scale the storage limit', () => {
    expect(storageLimitBytes({ name: 'essential-0' }, 1)).toBe(1024 ** 3);
    expect(storageLimitBytes({ name: 'essential-2' }, 0.01)).toBe(Math.round(32 * 1024 ** 3 * 0.01));
  });
});

describe('tenant names', () => {
  it('are opaque, valid identifiers within PostgreSQL’s 63 bytes', () => {
    fc.assert(
      fc.property(fc.uuid(), (id) => {
        const names = tenantNames(id);
        for (const name of Object.values(names)) {
          expect(name).toMatch(/^[dgu]_[0-9a-f]{32}$/);
          expect(name.length).toBeLessThanOrEqual(63);
        }
        expect(new Set(Object.values(names)).size).toBe(3);
      }),
    );
  });
});

describe('postgresUrl', () => {
  it('escapes what a URL cannot hold and brackets IPv6 hosts', () => {
    expect(postgresUrl({ host: '127.0.0.1', port: 5441 }, 'u_1', 'p@ss/w:rd', 'd_1')).toBe('postgres://u_1:p%40ss%2Fw%3Ard@127.0.0.1:5441/d_1');
    expect(postgresUrl({ host: '::1', port: 5441 }, 'u', 'p', 'd')).toBe('postgres://u:p@[::1]:5441/d');
  });

  it('round-trips through the URL parser', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (password) => {
        const url = new URL(postgresUrl({ host: 'db.example', port: 5432 }, 'u_x', password, 'd_x'));
        expect(decodeURIComponent(url.password)).toBe(password);
        expect(url.pathname).toBe('/d_x');
      }),
    );
  });
});

describe('backup names and sizes', () => {
  it('name manual backups b001 and scheduled ones a001', () => {
    expect(backupName({ kind: 'manual', number: 1 })).toBe('b001');
    expect(backupName({ kind: 'scheduled', number: 42 })).toBe('a042');
    expect(backupName({ kind: 'manual', number: 1234 })).toBe('b1234');
  });

  it('print sizes in binary units', () => {
    expect(formatBytes(512)).toBe('512 bytes');
    expect(formatBytes(1536)).toBe('1.5 kB');
    expect(formatBytes(10 * 1024 ** 3)).toBe('10.0 GB');
  });
});

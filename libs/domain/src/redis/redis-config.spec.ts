import fc from 'fast-check';
import { redisInstanceKey, redisUrl } from './redis-config';
import { isRedisPlan, redisPlanShape } from './redis-plans';

describe('redis plans', () => {
  it('give mini no persistence or standby, and premium both', () => {
    expect(redisPlanShape({ name: 'mini' })).toEqual({ maxmemoryBytes: 25 * 1024 * 1024, maxclients: 20, persistence: false, highAvailability: false });
    expect(redisPlanShape({ name: 'premium-0' })).toMatchObject({ persistence: true, highAvailability: true, maxclients: 40 });
    expect(redisPlanShape({ name: 'premium-1' }).maxmemoryBytes).toBe(100 * 1024 * 1024);
    expect(isRedisPlan('premium-9')).toBe(false);
    expect(() => redisPlanShape({ name: 'premium-9' })).toThrow('not a known plan');
  });
});

describe('redis URLs and keys', () => {
  it('carry the app user and an escaped password, and round-trip through the URL parser', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.integer({ min: 1024, max: 65535 }), (password, port) => {
        const url = new URL(redisUrl('127.0.0.1', port, password));
        expect(url.protocol).toBe('redis:');
        expect(url.username).toBe('app');
        expect(decodeURIComponent(url.password)).toBe(password);
        expect(url.port).toBe(String(port));
      }),
    );
    expect(redisUrl('::1', 17000, 'pw')).toBe('redis://app:pw@[::1]:17000');
  });

  it('name an instance opaquely from its add-on id', () => {
    expect(redisInstanceKey('6C0D5A4E-2B1F-4C55-9D1E-5F0A3C7B2E01')).toBe('r_6c0d5a4e2b1f4c559d1e5f0a3c7b2e01');
  });
});

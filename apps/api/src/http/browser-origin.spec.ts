import { Request } from 'express';
import fc from 'fast-check';
import { fromOwnOrigin, safeNext } from './browser-origin';

const PUBLIC_URL = 'https://attache.example';
const request = (headers: Record<string, string>) => ({ headers }) as unknown as Request;

describe('safeNext', () => {
  it('keeps paths on Attache itself', () => {
    expect(safeNext('/sso/apps/a/addons/b')).toBe('/sso/apps/a/addons/b');
    expect(safeNext('/?x=1#y')).toBe('/?x=1#y');
    expect(safeNext('/a/../b')).toBe('/b');
  });

  it.each([
    ['another origin', 'https://evil.example/'],
    ['a protocol-relative URL', '//evil.example/x'],
    ['a backslash that browsers read as a slash', '/\\evil.example'],
    ['a tab inside the slashes', '/\t/evil.example'],
    ['a dot segment before two slashes', '/.//evil.example'],
    ['a parent segment before two slashes', '/..//evil.example/x'],
    ['encoded dot segments before two slashes', '/%2e%2E//evil.example'],
    ['a path that climbs back to two slashes', '/a/..//evil.example'],
    ['a script URL', 'javascript:alert(1)'],
    ['a relative path', 'apps'],
    ['nothing', ''],
    ['a list', ['/a', '/b']],
    ['something far too long', `/${'a'.repeat(2001)}`],
  ])('refuses %s', (_, next) => {
    expect(safeNext(next)).toBeNull();
  });

  it('never answers a location that a browser on Attache would resolve to another origin', () => {
    const pieces = fc.constantFrom('/', '//', '.', '..', '%2e', '%2E', '\\', 'evil.example', '@', ':', '?', '#', '%2f', '\t', 'a');
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 8 }), (parts) => {
        const next = safeNext(`/${parts.join('')}`);
        if (next === null) return;
        expect(next.startsWith('/') && !next.startsWith('//')).toBe(true);
        expect(new URL(next, `${PUBLIC_URL}/login`).origin).toBe(PUBLIC_URL);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('fromOwnOrigin', () => {
  it('accepts the public origin in Origin, or in Referer when Origin is absent', () => {
    expect(fromOwnOrigin(request({ origin: PUBLIC_URL }), PUBLIC_URL)).toBe(true);
    expect(fromOwnOrigin(request({ referer: `${PUBLIC_URL}/login?next=%2F` }), PUBLIC_URL)).toBe(true);
    expect(fromOwnOrigin(request({ origin: PUBLIC_URL, 'sec-fetch-site': 'same-origin' }), PUBLIC_URL)).toBe(true);
  });

  it('refuses other origins, opaque ones and cross-site fetches', () => {
    expect(fromOwnOrigin(request({ origin: 'https://evil.example' }), PUBLIC_URL)).toBe(false);
    expect(fromOwnOrigin(request({ origin: 'null' }), PUBLIC_URL)).toBe(false);
    expect(fromOwnOrigin(request({ origin: 'http://attache.example' }), PUBLIC_URL)).toBe(false);
    expect(fromOwnOrigin(request({ referer: 'https://evil.example/attache.example' }), PUBLIC_URL)).toBe(false);
    expect(fromOwnOrigin(request({ referer: 'not a url' }), PUBLIC_URL)).toBe(false);
    expect(fromOwnOrigin(request({ origin: PUBLIC_URL, 'sec-fetch-site': 'cross-site' }), PUBLIC_URL)).toBe(false);
  });
});

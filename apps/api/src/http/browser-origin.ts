import { Request } from 'express';

/**
 * Where to go after signing in: only a path on Attache itself (`/apps/…`), never another origin
 * (`//evil.example`, `/\evil.example`, `https://…`), so /login cannot be used as an open redirect.
 * The answer is the normalized path, checked again: dot segments can turn `/.//evil.example`
 * into `//evil.example`, which a browser reads as another host.
 */
export function safeNext(next: unknown): string | null {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2000) return null;
  const controlOrBackslash = [...next].some((c) => c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (!next.startsWith('/') || next.startsWith('//') || controlOrBackslash) return null;
  const base = 'http://attache.invalid';
  const url = new URL(next, base);
  if (url.origin !== base) return null;
  const path = `${url.pathname}${url.search}${url.hash}`;
  return path.startsWith('//') ? null : path;
}

/**
 * Whether a form POST comes from Attache's own pages: `Origin` (every current browser sends it on
 * POST) or else `Referer` must be the public URL's origin, and `Sec-Fetch-Site` must not say
 * cross-site. With none of them (old clients) the CSRF token alone decides.
 */
export function fromOwnOrigin(request: Request, publicUrl: string): boolean {
  const expected = new URL(publicUrl).origin;
  const fetchSite = request.headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') return false;
  const origin = request.headers.origin;
  if (origin !== undefined) return origin === expected;
  const referer = request.headers.referer;
  if (referer === undefined) return true;
  try {
    return new URL(referer).origin === expected;
  } catch {
    return false;
  }
}

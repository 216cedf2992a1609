import { randomBytes, randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID_RE.test(value);

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A random token of `length` base62 characters (about 5.95 bits each), optionally prefixed. */
export function randomToken(length = 40, prefix = ''): string {
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; out.length < length && i < bytes.length; i++) {
    // Rejection sampling keeps the alphabet uniform (248 = 4 * 62).
    if (bytes[i] < 248) out += BASE62[bytes[i] % 62];
  }
  return out.length === length ? prefix + out : randomToken(length, prefix);
}

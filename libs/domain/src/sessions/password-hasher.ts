import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';

/** scrypt cost: N = 2^17, r = 8, p = 1 (OWASP's recommendation), 128 MiB and a noticeable fraction of a second per hash. */
const LOG2_N = 17;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const KEY_LENGTH = 32;
const SALT_BYTES = 16;

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;

const derive = (password: string, salt: Buffer, log2n: number, r: number, p: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const N = 2 ** log2n;
    // Node refuses more than 32 MiB unless told; scrypt needs 128 * N * r bytes.
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r }, (error, key) => (error ? reject(error) : resolve(key)));
  });

/**
 * Passwords as `scrypt$<log2 N>$<r>$<p>$<salt>$<key>` (base64url): the parameters travel with
 * the hash, so raising them later leaves old hashes verifiable (and `needsRehash` says so).
 */
@Injectable()
export class PasswordHasher {
  private dummy: Promise<string> | null = null;

  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const key = await derive(password, salt, LOG2_N, BLOCK_SIZE, PARALLELISM);
    return ['scrypt', LOG2_N, BLOCK_SIZE, PARALLELISM, salt.toString('base64url'), key.toString('base64url')].join('$');
  }

  /** Constant-time comparison; false for a malformed hash. */
  async verify(password: string, stored: string): Promise<boolean> {
    const parts = stored.split('$');
    if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
    const [log2n, r, p] = parts.slice(1, 4).map(Number);
    if (![log2n, r, p].every((n) => Number.isInteger(n) && n > 0) || log2n > 20 || r > 32 || p > 16) return false;
    const expected = Buffer.from(parts[5], 'base64url');
    const actual = await derive(password, Buffer.from(parts[4], 'base64url'), log2n, r, p);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }

  needsRehash(stored: string): boolean {
    return !stored.startsWith(`scrypt$${LOG2_N}$${BLOCK_SIZE}$${PARALLELISM}$`);
  }

  /** The same work as a real check, for accounts without a password: timing does not tell them apart. */
  async burn(password: string): Promise<void> {
    this.dummy ??= this.hash(randomBytes(16).toString('hex'));
    await this.verify(password, await this.dummy);
  }
}

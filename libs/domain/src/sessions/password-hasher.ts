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

/** The most work a stored hash may ask for (N·r·p): what Attache's own parameters cost. A hash never needs more than it was made with. */
const MAX_COST = 2 ** LOG2_N * BLOCK_SIZE * PARALLELISM;

/**
 * Passwords as `scrypt$<log2 N>$<r>$<p>$<salt>$<key>` (base64url): the parameters travel with
 * the hash, so raising them later leaves old hashes verifiable (and `needsRehash` says so).
 * Derivation runs on libuv's thread pool (async scrypt), never on the event loop.
 */
@Injectable()
export class PasswordHasher {
  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const key = await this.derive(password, salt, LOG2_N, BLOCK_SIZE, PARALLELISM);
    return ['scrypt', LOG2_N, BLOCK_SIZE, PARALLELISM, salt.toString('base64url'), key.toString('base64url')].join('$');
  }

  /**
   * Constant-time comparison; false for a malformed hash, and for one whose parameters would cost
   * more memory or time than Attache's own (a hash written by anything but this class), without
   * deriving anything.
   */
  async verify(password: string, stored: string): Promise<boolean> {
    const parts = stored.split('$');
    if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
    const [log2n, r, p] = parts.slice(1, 4).map(Number);
    if (![log2n, r, p].every((n) => Number.isInteger(n) && n > 0) || log2n > LOG2_N || 2 ** log2n * r * p > MAX_COST) return false;
    const expected = Buffer.from(parts[5], 'base64url');
    const actual = await this.derive(password, Buffer.from(parts[4], 'base64url'), log2n, r, p);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }

  needsRehash(stored: string): boolean {
    return !stored.startsWith(`scrypt$${LOG2_N}$${BLOCK_SIZE}$${PARALLELISM}$`);
  }

  /** The same work as a real check (one derivation with Attache's parameters), for accounts without a password: timing does not tell them apart. */
  async burn(password: string): Promise<void> {
    await this.derive(password, randomBytes(SALT_BYTES), LOG2_N, BLOCK_SIZE, PARALLELISM);
  }

  protected derive(password: string, salt: Buffer, log2n: number, r: number, p: number): Promise<Buffer> {
    const N = 2 ** log2n;
    return new Promise((resolve, reject) => {
      // Node refuses more than 32 MiB unless told; scrypt needs about 128 * N * r bytes.
      scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r }, (error, key) => (error ? reject(error) : resolve(key)));
    });
  }
}

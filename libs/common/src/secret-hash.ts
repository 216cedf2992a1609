import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * SHA-256 for high-entropy secrets we generate (API keys, OAuth tokens, grant codes): a slow KDF
 * adds nothing when the secret has 200+ random bits, and lookups stay one indexed query.
 */
export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

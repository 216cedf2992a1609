import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);
/** PostgreSQL's own default (scram_iterations). */
const SCRAM_ITERATIONS = 4096;

/**
 * A role's SCRAM-SHA-256 verifier, computed here so the plaintext never reaches the server (whose
 * log may echo a failed statement). Printable ASCII only: SASLprep leaves it unchanged, so every
 * client derives the same key from it.
 */
export async function pgScramVerifier(password: string): Promise<string> {
  if (!/^[\x20-\x7e]+$/.test(password)) throw new Error('Role passwords must be non-empty printable ASCII');
  const salt = randomBytes(16);
  const salted = await pbkdf2Async(password, salt, SCRAM_ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

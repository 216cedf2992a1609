import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM encryption for secrets at rest (config var values, vendor passwords, SSO salts).
 * Each ciphertext names the key that sealed it, so keys can be rotated: seal with the current
 * key, open with any key still listed.
 */
export class SecretBox {
  private readonly current: { id: string; key: Buffer };
  private readonly byId = new Map<string, Buffer>();

  constructor(currentKey: Buffer, previousKeys: Buffer[] = []) {
    for (const key of [currentKey, ...previousKeys]) {
      if (key.length !== 32) throw new Error('Encryption keys must be 32 bytes.');
      this.byId.set(SecretBox.keyId(key), key);
    }
    this.current = { id: SecretBox.keyId(currentKey), key: currentKey };
  }

  static keyId(key: Buffer): string {
    return createHash('sha256').update(key).digest('hex').slice(0, 8);
  }

  /** Accepts 64 hex characters or base64 of 32 bytes. */
  static parseKey(text: string): Buffer {
    const trimmed = text.trim();
    const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
    if (key.length !== 32) throw new Error('must be 32 bytes, as 64 hex characters or base64');
    return key;
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return ['v1', this.current.id, iv.toString('base64'), tag.toString('base64'), body.toString('base64')].join(':');
  }

  open(sealed: string): string {
    const [version, keyId, iv, tag, body] = sealed.split(':');
    const key = this.byId.get(keyId);
    if (version !== 'v1' || body === undefined) throw new Error('Cannot decrypt: unknown format or key.');
    if (!key) {
      throw new Error(
        `Cannot decrypt: unknown format or key. The value was sealed with key ${keyId}, which is neither ATTACHE_ENCRYPTION_KEY nor in ATTACHE_PREVIOUS_ENCRYPTION_KEYS.`,
      );
    }
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
  }

  /** The id every value sealed now carries (the first 8 hex digits of the key's SHA-256). */
  get currentKeyId(): string {
    return this.current.id;
  }

  /** True when the value was sealed with an older key and should be re-sealed. */
  isStale(sealed: string): boolean {
    return sealed.split(':')[1] !== this.current.id;
  }
}

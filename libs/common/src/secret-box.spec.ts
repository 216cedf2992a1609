import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { SecretBox } from './secret-box';

describe('SecretBox (AES-256-GCM at rest)', () => {
  const key = randomBytes(32);

  it('opens what it sealed, and never stores the plaintext', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 500 }), (plaintext) => {
        const box = new SecretBox(key);
        const sealed = box.seal(plaintext);
        expect(box.open(sealed)).toBe(plaintext);
        if (plaintext.length > 3) expect(sealed).not.toContain(plaintext);
      }),
      { numRuns: 200 },
    );
  });

  it('uses a fresh nonce each time', () => {
    const box = new SecretBox(key);
    expect(box.seal('same')).not.toBe(box.seal('same'));
  });

  it('refuses tampered ciphertext', () => {
    const box = new SecretBox(key);
    const parts = box.seal('postgres://user:secret@db/app').split(':');
    const body = Buffer.from(parts[4], 'base64');
    body[0] ^= 1;
    parts[4] = body.toString('base64');
    expect(() => box.open(parts.join(':'))).toThrow();
  });

  it('rotates: a new current key still opens values sealed with a previous one', () => {
    const old = new SecretBox(key);
    const sealed = old.seal('vendor-password');
    const rotated = new SecretBox(randomBytes(32), [key]);
    expect(rotated.open(sealed)).toBe('vendor-password');
    expect(rotated.isStale(sealed)).toBe(true);
    expect(rotated.isStale(rotated.seal('x'))).toBe(false);
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow(/unknown format or key/);
  });

  it('parses keys as hex or base64 and refuses other lengths', () => {
    expect(SecretBox.parseKey(key.toString('hex'))).toEqual(key);
    expect(SecretBox.parseKey(key.toString('base64'))).toEqual(key);
    expect(() => SecretBox.parseKey('too-short')).toThrow(/32 bytes/);
  });
});

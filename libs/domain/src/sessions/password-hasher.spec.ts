import { scryptSync } from 'node:crypto';
import { PasswordHasher } from './password-hasher';

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher();

  it('hashes with scrypt (N=2^17, r=8, p=1) and a fresh salt, and verifies only the same password', async () => {
    const first = await hasher.hash('correct horse battery staple');
    const second = await hasher.hash('correct horse battery staple');
    expect(first).toMatch(/^scrypt\$17\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(second).not.toBe(first);
    expect(await hasher.verify('correct horse battery staple', first)).toBe(true);
    expect(await hasher.verify('correct horse battery stapl', first)).toBe(false);
    expect(await hasher.verify('', first)).toBe(false);
    expect(hasher.needsRehash(first)).toBe(false);
  });

  it('verifies hashes made with other parameters, says they need rehashing, and refuses malformed or absurd ones', async () => {
    const salt = Buffer.from('salt-salt-salt-s');
    const weak = `scrypt$10$8$1$${salt.toString('base64url')}$${scryptSync('old password', salt, 32, { N: 1024, r: 8, p: 1 }).toString('base64url')}`;
    expect(await hasher.verify('old password', weak)).toBe(true);
    expect(await hasher.verify('new password', weak)).toBe(false);
    expect(hasher.needsRehash(weak)).toBe(true);
    expect(await hasher.verify('old password', weak.slice(0, -2))).toBe(false);
    expect(await hasher.verify('x', 'bcrypt$whatever')).toBe(false);
    expect(await hasher.verify('x', 'scrypt$40$8$1$a$b')).toBe(false);
    expect(await hasher.verify('x', 'scrypt$x$8$1$a$b')).toBe(false);
  });

  describe('scrypt calls', () => {
    /** Records every derivation it is asked for. */
    class CountingHasher extends PasswordHasher {
      readonly derived: { log2n: number; r: number; p: number }[] = [];
      protected override derive(password: string, salt: Buffer, log2n: number, r: number, p: number): Promise<Buffer> {
        this.derived.push({ log2n, r, p });
        return super.derive(password, salt, log2n, r, p);
      }
    }

    it('burns exactly the work of one check, the first time in a process too', async () => {
      const counting = new CountingHasher();
      await counting.burn('a guess at a password');
      expect(counting.derived).toEqual([{ log2n: 17, r: 8, p: 1 }]);
    });

    it('refuses, without deriving anything, a stored hash whose parameters would need more memory or time than its own', async () => {
      const counting = new CountingHasher();
      const salt = Buffer.from('salt-salt-salt-s').toString('base64url');
      for (const params of ['18$16$1', '20$8$1', '17$8$4', '17$9$1']) {
        expect(await counting.verify('x', `scrypt$${params}$${salt}$${'A'.repeat(43)}`)).toBe(false);
      }
      expect(counting.derived).toEqual([]);
    });
  });
});

import fc from 'fast-check';
import { InvalidInputError } from '@app/common';
import {
  COLORS,
  aliasedVarName,
  assertValidAddonName,
  assertValidAppName,
  colouredAlias,
  generateAddonName,
  generateAppName,
  normalizeAlias,
} from './naming.rules';

describe('naming rules', () => {
  it('generates add-on names as <service>-<word>-<number> that pass validation', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9-]{1,30}$/), (slug) => {
        const name = generateAddonName(slug);
        expect(name).toMatch(new RegExp(`^${slug.replace(/^heroku-/, '')}-[a-z]+-\\d{1,5}$`));
        expect(() => assertValidAddonName(name)).not.toThrow();
      }),
      { numRuns: 200 },
    );
    expect(generateAddonName('heroku-postgresql')).toMatch(/^postgresql-/);
  });

  it('generates valid app names', () => {
    for (let i = 0; i < 200; i++) expect(() => assertValidAppName(generateAppName())).not.toThrow();
  });

  it.each(['1app', 'a', '-app', 'app name', 'App', 'app_', 'a'.repeat(31), 'app-'])('refuses the app name %p', (name) => {
    expect(() => assertValidAppName(name)).toThrow(InvalidInputError);
  });

  it.each(['9lives', 'x', 'has space', 'semi;colon', `a${'b'.repeat(64)}`])('refuses the add-on name %p', (name) => {
    expect(() => assertValidAddonName(name)).toThrow(InvalidInputError);
  });

  it('normalizes aliases to upper case with underscores', () => {
    expect(normalizeAlias('shared-db')).toBe('SHARED_DB');
    expect(() => normalizeAlias('1DB')).toThrow(InvalidInputError);
    expect(() => normalizeAlias('DB URL')).toThrow(InvalidInputError);
  });

  it('picks a free coloured alias, then numbered ones', () => {
    fc.assert(
      fc.property(fc.subarray(COLORS.map((c) => `POSTGRESQL_${c}`)), (taken) => {
        const alias = colouredAlias('POSTGRESQL', new Set(taken));
        expect(taken).not.toContain(alias);
        expect(alias).toMatch(/^POSTGRESQL_[A-Z0-9]+$/);
      }),
    );
    const all = new Set(COLORS.map((c) => `REDIS_${c}`));
    expect(colouredAlias('REDIS', all)).toBe('REDIS_2');
  });

  it("renames a provider's vars under the attachment alias", () => {
    expect(aliasedVarName('DATABASE', 'POSTGRESQL_URL', 'POSTGRESQL')).toBe('DATABASE_URL');
    expect(aliasedVarName('SHARED', 'SUDO_NOTES_URL', 'SUDO_NOTES')).toBe('SHARED_URL');
    expect(aliasedVarName('KAFKA', 'KAFKA', 'KAFKA')).toBe('KAFKA');
    expect(aliasedVarName('CACHE', 'OTHER_TOKEN', 'REDIS')).toBe('CACHE_OTHER_TOKEN');
  });
});

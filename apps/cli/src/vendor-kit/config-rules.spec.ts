import { readManifest } from './checked-manifest';
import { configItemsProblems, configProblems } from './config-rules';

const manifest = readManifest(
  { id: 'fast-db', api: { config_vars: ['FAST_DB_URL', 'FAST_DB_TOKEN'], password: 'p', sso_salt: 's' }, plans: [{ name: 'test', default: true }] },
  'test',
);

describe('configProblems (kensa ProvisionResponseCheck 15–19)', () => {
  it('accepts declared, prefixed string values, warning about declared vars not returned', () => {
    expect(configProblems({ FAST_DB_URL: 'postgres://u:p@db.example.test:5432/d' }, manifest, 'test')).toEqual({
      problems: [],
      warnings: ['FAST_DB_TOKEN is declared but was not returned'],
    });
    expect(configProblems(undefined, manifest, 'test').problems).toEqual([]);
  });

  it('names undeclared, unprefixed and non-string keys without repeating values', () => {
    const { problems } = configProblems({ FAST_DB_EXTRA: 'x', OTHER_URL: 'https://o.example.test', FAST_DB_TOKEN: 42, FAST_DB_URL: null }, manifest, 'test');
    expect(problems).toEqual([
      'FAST_DB_EXTRA is not declared in api.config_vars',
      'OTHER_URL does not start with "FAST_DB_"',
      'OTHER_URL is not declared in api.config_vars',
      'FAST_DB_TOKEN is a number, expected a string',
      'FAST_DB_URL is null, expected a string',
    ]);
    expect(configProblems(['FAST_DB_URL'], manifest, 'test').problems).toEqual(['expected "config" to be an object, got an array']);
  });

  it('requires *_URL and URL-looking values to parse with a host, and no localhost in production', () => {
    expect(configProblems({ FAST_DB_URL: 'not a url' }, manifest, 'test').problems).toEqual(['FAST_DB_URL is not a valid URL']);
    expect(configProblems({ FAST_DB_TOKEN: 'https://' }, manifest, 'test').problems).toEqual(['FAST_DB_TOKEN is not a valid URL']);
    expect(configProblems({ FAST_DB_URL: 'http://localhost:5432/x' }, manifest, 'test').problems).toEqual([]);
    expect(configProblems({ FAST_DB_URL: 'http://localhost:5432/x' }, manifest, 'production').problems).toEqual([
      'FAST_DB_URL points at localhost (not allowed in production)',
    ]);
    expect(configProblems({ FAST_DB_TOKEN: 'secret-value' }, manifest, 'production').problems).toEqual([]);
  });

  it('holds partner API config updates to the same rules; null removes a declared var', () => {
    expect(configItemsProblems([{ name: 'FAST_DB_URL', value: 'https://db.example.test' }, { name: 'FAST_DB_TOKEN', value: null }], manifest, 'test')).toEqual([]);
    expect(configItemsProblems([{ name: 'NOPE', value: null }, { value: 'x' }, { name: 'FAST_DB_URL', value: 1 }], manifest, 'test')).toEqual([
      'config[1] has no "name"',
      'NOPE is not declared in api.config_vars',
      'FAST_DB_URL is a number, expected a string',
    ]);
    expect(configItemsProblems({ FAST_DB_URL: 'x' }, manifest, 'test')).toEqual(['expected "config" to be an array of {name, value}']);
  });
});

describe('readManifest', () => {
  it('uses api.test for the test environment, api.production otherwise or when test is absent', () => {
    const raw = { id: 'x', api: { production: { base_url: 'https://p/r', sso_url: 'https://p/s' }, test: { base_url: 'http://t/r', sso_url: 'http://t/s' } } };
    expect(readManifest(raw, 'test')).toMatchObject({ baseUrl: 'http://t/r', ssoUrl: 'http://t/s', endpointsFrom: 'test', prefix: 'X' });
    expect(readManifest(raw, 'production')).toMatchObject({ baseUrl: 'https://p/r', endpointsFrom: 'production' });
    expect(readManifest({ ...raw, api: { production: raw.api.production } }, 'test')).toMatchObject({ baseUrl: 'https://p/r', endpointsFrom: 'production' });
    expect(readManifest('nonsense', 'test')).toMatchObject({ id: '', baseUrl: undefined, endpointsFrom: 'none', plans: [] });
  });
});

import fc from 'fast-check';
import {
  KNOWN_REGIONS,
  MANIFEST_REQUIREMENTS,
  PLAN_STATES,
  type AddonManifest,
  type KnownRegion,
  type ManifestMeter,
  type ManifestPlan,
} from './manifest';
import { MANIFEST_ROOT_FIELD, defaultConfigVarsPrefix, validateManifest } from './manifest.validator';

const DEV = { production: false };
const PROD = { production: true };
const REMOVE = Symbol('absent');

function validManifest(): AddonManifest {
  return {
    id: 'my-addon',
    name: 'My Add-on',
    cli_plugin_name: 'attache-my-addon',
    api: {
      config_vars: ['MY_ADDON_URL', 'MY_ADDON_TOKEN'],
      password: 'GqAGAmdrnkDFcvR9',
      sso_salt: '7CwqmJLEjv8YZTXK',
      regions: ['us', 'eu'],
      requires: ['attachable', 'log_input'],
      production: {
        base_url: 'https://vendor.example.com/heroku/resources',
        sso_url: 'https://vendor.example.com/sso',
      },
      test: { base_url: 'http://localhost:4567/heroku/resources', sso_url: 'http://localhost:4567/sso' },
      version: '3',
      timeout_ms: 10_000,
    },
    plans: [
      { name: 'basic', human_name: 'Basic', price: { cents: 0, unit: 'month' }, default: true },
      {
        name: 'pro',
        human_name: 'Pro',
        description: 'For production apps',
        price: { cents: 2500, unit: 'month' },
        state: 'beta',
        meters: [{ dimension: 'emails', unit: 'email', cents_per_unit: 1, included: 1000 }],
      },
    ],
  };
}

/** A copy of `base` with the value at `path` replaced (or removed with REMOVE). */
function edit(path: readonly (string | number)[], value: unknown, base: unknown = validManifest()): unknown {
  const root = structuredClone(base);
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (value === REMOVE) delete node[last];
  else node[last] = value;
  return root;
}

function fieldsOf(input: unknown, opts = DEV): string[] {
  const result = validateManifest(input, opts);
  return result.ok ? [] : result.errors.map((e) => e.field);
}

describe('validateManifest', () => {
  describe('valid manifests', () => {
    it('accepts a complete manifest and fills in the defaults', () => {
      const result = validateManifest(validManifest(), PROD);

      expect(result).toEqual({
        ok: true,
        manifest: {
          id: 'my-addon',
          name: 'My Add-on',
          cli_plugin_name: 'attache-my-addon',
          api: {
            config_vars_prefix: 'MY_ADDON',
            config_vars: ['MY_ADDON_URL', 'MY_ADDON_TOKEN'],
            password: 'GqAGAmdrnkDFcvR9',
            sso_salt: '7CwqmJLEjv8YZTXK',
            regions: ['us', 'eu'],
            requires: ['attachable', 'log_input'],
            production: {
              base_url: 'https://vendor.example.com/heroku/resources',
              sso_url: 'https://vendor.example.com/sso',
            },
            test: { base_url: 'http://localhost:4567/heroku/resources', sso_url: 'http://localhost:4567/sso' },
            version: '3',
            timeout_ms: 10_000,
          },
          plans: [
            {
              name: 'basic',
              human_name: 'Basic',
              price: { cents: 0, unit: 'month' },
              default: true,
              state: 'public',
              meters: [],
            },
            {
              name: 'pro',
              human_name: 'Pro',
              description: 'For production apps',
              price: { cents: 2500, unit: 'month' },
              default: false,
              state: 'beta',
              meters: [{ dimension: 'emails', unit: 'email', cents_per_unit: 1, included: 1000 }],
            },
          ],
        },
      });
    });

    it('defaults config_vars and requires to [] and omits absent optional fields', () => {
      const input = {
        $base: 152951532282013,
        id: 'fast-db',
        name: 'Fast DB',
        api: {
          password: 'secret-password',
          sso_salt: 'secret-salt',
          regions: ['*'],
          production: { base_url: 'https://fast-db.example/r', sso_url: 'https://fast-db.example/sso' },
          version: '3',
        },
        plans: [{ name: 'free', human_name: 'Free', price: { cents: 0, unit: 'month' }, default: true }],
      };

      const result = validateManifest(input, PROD);

      expect(result).toEqual({
        ok: true,
        manifest: {
          id: 'fast-db',
          name: 'Fast DB',
          api: {
            config_vars_prefix: 'FAST_DB',
            config_vars: [],
            password: 'secret-password',
            sso_salt: 'secret-salt',
            regions: ['*'],
            requires: [],
            production: { base_url: 'https://fast-db.example/r', sso_url: 'https://fast-db.example/sso' },
            version: '3',
          },
          plans: [
            {
              name: 'free',
              human_name: 'Free',
              price: { cents: 0, unit: 'month' },
              default: true,
              state: 'public',
              meters: [],
            },
          ],
        },
      });
      // Unknown keys are tolerated but not carried over.
      expect(result.ok && Object.keys(result.manifest)).toEqual(['id', 'name', 'api', 'plans']);
    });

    it('keeps an explicit config_vars_prefix and checks config vars against it', () => {
      let input = edit(['api', 'config_vars_prefix'], 'THING');
      input = edit(['api', 'config_vars'], ['THING_URL'], input);

      const result = validateManifest(input, PROD);

      expect(result.ok && result.manifest.api).toMatchObject({
        config_vars_prefix: 'THING',
        config_vars: ['THING_URL'],
      });
    });

    it('tolerates unknown keys inside api', () => {
      expect(fieldsOf(edit(['api', 'legacy_flag'], true))).toEqual([]);
    });
  });

  describe('input that is not an object', () => {
    it.each([null, undefined, 'manifest', 42, true, [], [validManifest()]])(
      'rejects %p with the root field ""',
      (input) => {
        expect(validateManifest(input, DEV)).toEqual({
          ok: false,
          errors: [{ field: MANIFEST_ROOT_FIELD, message: expect.any(String) }],
        });
        expect(MANIFEST_ROOT_FIELD).toBe('');
      },
    );
  });

  describe('kensa rule 1 and the slug shape: id', () => {
    it.each([
      ['missing', REMOVE],
      ['not a string', 42],
      ['empty', ''],
      ['uppercase', 'My-Addon'],
      ['with a space', 'my addon'],
      ['with an underscore', 'my_addon'],
      ['with a dot', 'my.addon'],
      ['purely numeric', '12345'],
      ['starting with a digit', '1addon'],
      ['a single character', 'a'],
      ['51 characters', `a${'b'.repeat(50)}`],
    ])('fails on "id" when %s', (_case, id) => {
      // A valid explicit prefix keeps the config var check independent of the id.
      const input = edit(['id'], id, edit(['api', 'config_vars_prefix'], 'MY_ADDON'));
      expect(fieldsOf(input)).toEqual(['id']);
    });

    it.each(['ab', 'a1', 'my-addon', `a${'b'.repeat(49)}`])('accepts %p', (id) => {
      expect(fieldsOf(edit(['api', 'config_vars'], [], edit(['id'], id)))).toEqual([]);
    });
  });

  describe('kensa rule 2: api', () => {
    it.each([
      ['missing', REMOVE],
      ['a string', 'https://vendor.example.com'],
      ['an array', []],
      ['null', null],
    ])('fails on "api" when %s', (_case, api) => {
      expect(fieldsOf(edit(['api'], api))).toEqual(['api']);
    });
  });

  describe('kensa rule 3: api.regions', () => {
    it('fails on the unknown entry: ["us", "ap"]', () => {
      expect(fieldsOf(edit(['api', 'regions'], ['us', 'ap']))).toEqual(['api.regions[1]']);
    });

    it('fails when neither "us" nor "*" is listed', () => {
      expect(fieldsOf(edit(['api', 'regions'], ['eu', 'tokyo']))).toEqual(['api.regions']);
    });

    it('reports both an unknown entry and a missing "us"', () => {
      expect(fieldsOf(edit(['api', 'regions'], ['ap']))).toEqual(['api.regions[0]', 'api.regions']);
    });

    it.each([
      ['missing', REMOVE],
      ['a string', 'us'],
      ['empty', []],
    ])('fails on "api.regions" when %s', (_case, regions) => {
      expect(fieldsOf(edit(['api', 'regions'], regions))).toEqual(['api.regions']);
    });

    it.each([[['*']], [['us']], [[...KNOWN_REGIONS]]])('accepts %j', (regions) => {
      expect(fieldsOf(edit(['api', 'regions'], regions))).toEqual([]);
    });
  });

  describe('kensa rule 4 and Attache: api.password and api.sso_salt', () => {
    it.each(['password', 'sso_salt'])('fails on api.%s when missing, empty, too short or not a string', (key) => {
      for (const value of [REMOVE, '', 'short', 12345678, null]) {
        expect(fieldsOf(edit(['api', key], value))).toEqual([`api.${key}`]);
      }
    });

    it('never repeats a secret in the message', () => {
      const result = validateManifest(edit(['api', 'password'], 'hunter2'), DEV);
      expect(result.ok).toBe(false);
      expect(JSON.stringify(result)).not.toContain('hunter2');
    });
  });

  describe('kensa rule 5 and Attache: api.production and api.test', () => {
    it('fails on "api.production" when it is missing', () => {
      expect(fieldsOf(edit(['api', 'production'], REMOVE))).toEqual(['api.production']);
    });

    it('refuses the legacy string form of api.production', () => {
      expect(fieldsOf(edit(['api', 'production'], 'https://vendor.example.com'))).toEqual(['api.production']);
    });

    it('accepts a manifest without api.test (unlike kensa)', () => {
      expect(fieldsOf(edit(['api', 'test'], REMOVE), PROD)).toEqual([]);
    });

    it('still checks api.test when present', () => {
      expect(fieldsOf(edit(['api', 'test'], { base_url: 'not a url' }))).toEqual([
        'api.test.base_url',
        'api.test.sso_url',
      ]);
      expect(fieldsOf(edit(['api', 'test', 'sso_url'], 'ftp://localhost/sso'))).toEqual(['api.test.sso_url']);
    });

    it('allows plain http to any host in api.test', () => {
      expect(fieldsOf(edit(['api', 'test', 'base_url'], 'http://staging.vendor.example/r'), PROD)).toEqual([]);
    });
  });

  describe('kensa rule 6 and Attache: https production URLs', () => {
    it.each(['base_url', 'sso_url'])('fails on api.production.%s over plain http to a public host', (key) => {
      const input = edit(['api', 'production', key], 'http://vendor.example.com/x');
      expect(fieldsOf(input, DEV)).toEqual([`api.production.${key}`]);
      expect(fieldsOf(input, PROD)).toEqual([`api.production.${key}`]);
    });

    it.each([
      'http://localhost:4567/r',
      'http://LOCALHOST/r',
      'http://127.0.0.1/r',
      'http://127.1.2.3:80/r',
      'http://[::1]:3000/r',
    ])('allows %s only outside production', (url) => {
      const input = edit(['api', 'production'], { base_url: url, sso_url: url });
      expect(fieldsOf(input, DEV)).toEqual([]);
      expect(fieldsOf(input, PROD)).toEqual(['api.production.base_url', 'api.production.sso_url']);
    });

    it.each([
      'http://10.0.0.1/r',
      'http://128.0.0.1/r',
      'http://localhost.example.com/r',
      'http://127.0.0.1.nip.io/r',
      'http://[::2]/r',
      'http://0.0.0.0/r',
    ])('refuses %s even outside production', (url) => {
      expect(fieldsOf(edit(['api', 'production', 'base_url'], url), DEV)).toEqual(['api.production.base_url']);
    });

    it('accepts https to a loopback host in production', () => {
      expect(fieldsOf(edit(['api', 'production', 'base_url'], 'https://localhost:5000/r'), PROD)).toEqual([]);
    });

    it.each(['not a url', '/heroku/resources', 'https://', 'ftp://vendor.example.com/r', 42, REMOVE])(
      'fails on api.production.sso_url for %p',
      (url) => {
        expect(fieldsOf(edit(['api', 'production', 'sso_url'], url))).toEqual(['api.production.sso_url']);
      },
    );
  });

  describe('kensa rule 7: api.config_vars', () => {
    it('accepts MY_ADDON_URL for id my-addon', () => {
      expect(fieldsOf(edit(['api', 'config_vars'], ['MY_ADDON_URL']))).toEqual([]);
    });

    it.each([
      ['MONGO_URL', 'another prefix'],
      ['NOT_SLUG_URL', 'another prefix'],
      ['MY_ADDONURL', 'the prefix without "_"'],
      ['MY-ADDON_URL', 'a "-"'],
      ['my_addon_url', 'lowercase'],
      ['_MY_ADDON_URL', 'a leading "_"'],
      ['M', 'one character'],
    ])('fails on the entry %s (%s)', (name) => {
      expect(fieldsOf(edit(['api', 'config_vars'], ['MY_ADDON_URL', name]))).toEqual(['api.config_vars[1]']);
    });

    it('fails on a non-string entry', () => {
      expect(fieldsOf(edit(['api', 'config_vars'], [42]))).toEqual(['api.config_vars[0]']);
    });

    it('checks names against config_vars_prefix when given: MYADDON_URL fails with THING', () => {
      const withPrefix = edit(['api', 'config_vars_prefix'], 'THING');
      expect(fieldsOf(edit(['api', 'config_vars'], ['MYADDON_URL'], withPrefix))).toEqual(['api.config_vars[0]']);
      expect(fieldsOf(edit(['api', 'config_vars'], ['MY_ADDON_URL'], withPrefix))).toEqual(['api.config_vars[0]']);
      expect(fieldsOf(edit(['api', 'config_vars'], ['THING_URL'], withPrefix))).toEqual([]);
    });

    it('fails on "api.config_vars" when it is not an array', () => {
      expect(fieldsOf(edit(['api', 'config_vars'], 'MY_ADDON_URL'))).toEqual(['api.config_vars']);
    });

    it('accepts a manifest without config vars (logging add-ons)', () => {
      expect(fieldsOf(edit(['api', 'config_vars'], REMOVE))).toEqual([]);
    });

    it.each(['thing', 'THING-X', '_THING', '', 42])('fails on api.config_vars_prefix for %p', (prefix) => {
      // Only the prefix is reported, not every config var measured against it.
      expect(fieldsOf(edit(['api', 'config_vars_prefix'], prefix))).toEqual(['api.config_vars_prefix']);
    });
  });

  describe('kensa rule 8: api.username', () => {
    it('fails on "api.username" whenever it is present', () => {
      expect(fieldsOf(edit(['api', 'username'], 'my-addon'))).toEqual(['api.username']);
      expect(fieldsOf(edit(['api', 'username'], null))).toEqual(['api.username']);
    });
  });

  describe('Attache api rules', () => {
    it.each([REMOVE, '2', 3, ''])('fails on "api.version" for %p', (version) => {
      expect(fieldsOf(edit(['api', 'version'], version))).toEqual(['api.version']);
    });

    it('fails on an unknown requirement', () => {
      expect(fieldsOf(edit(['api', 'requires'], ['attachable', 'addon_webhooks']))).toEqual(['api.requires[1]']);
    });

    it('fails on a duplicated requirement', () => {
      expect(fieldsOf(edit(['api', 'requires'], ['log_input', 'attachable', 'log_input']))).toEqual([
        'api.requires[2]',
      ]);
    });

    it('fails on "api.requires" when it is not an array', () => {
      expect(fieldsOf(edit(['api', 'requires'], 'attachable'))).toEqual(['api.requires']);
    });

    it('accepts every known requirement', () => {
      expect(fieldsOf(edit(['api', 'requires'], [...MANIFEST_REQUIREMENTS]))).toEqual([]);
    });

    it.each([999, 30_001, 1500.5, '5000', -1, null])('fails on "api.timeout_ms" for %p', (timeout) => {
      expect(fieldsOf(edit(['api', 'timeout_ms'], timeout))).toEqual(['api.timeout_ms']);
    });

    it.each([1000, 30_000])('accepts api.timeout_ms %p', (timeout) => {
      expect(fieldsOf(edit(['api', 'timeout_ms'], timeout))).toEqual([]);
    });

    it.each([
      ['name', REMOVE],
      ['name', ''],
      ['name', '   '],
      ['cli_plugin_name', 42],
      ['cli_plugin_name', ''],
    ])('fails on "%s" for %p', (key, value) => {
      expect(fieldsOf(edit([key], value))).toEqual([key]);
    });
  });

  describe('plans', () => {
    it.each([
      ['missing', REMOVE],
      ['not an array', { name: 'basic' }],
      ['empty', []],
    ])('fails on "plans" when %s', (_case, plans) => {
      expect(fieldsOf(edit(['plans'], plans))).toEqual(['plans']);
    });

    it('fails on "plans" with more than 50 plans', () => {
      const plans = Array.from({ length: 51 }, (_, i) => ({
        name: `plan-${i}`,
        human_name: `Plan ${i}`,
        price: { cents: i, unit: 'month' },
        default: i === 0,
      }));
      expect(fieldsOf(edit(['plans'], plans))).toEqual(['plans']);
      expect(fieldsOf(edit(['plans'], plans.slice(0, 50)))).toEqual([]);
    });

    it('fails on a plan that is not an object', () => {
      expect(fieldsOf(edit(['plans', 1], 'pro'))).toEqual(['plans[1]']);
    });

    it.each(['Basic', '-basic', 'basic plan', 'basic_plan', '', 'b'.repeat(51), 7])(
      'fails on plans[0].name for %p',
      (name) => {
        expect(fieldsOf(edit(['plans', 0, 'name'], name))).toEqual(['plans[0].name']);
      },
    );

    it('fails on the second plan with a duplicated name', () => {
      expect(fieldsOf(edit(['plans', 1, 'name'], 'basic'))).toEqual(['plans[1].name']);
    });

    it.each([REMOVE, '', ' ', 5])('fails on plans[0].human_name for %p', (humanName) => {
      expect(fieldsOf(edit(['plans', 0, 'human_name'], humanName))).toEqual(['plans[0].human_name']);
    });

    it('fails on a description that is not a string', () => {
      expect(fieldsOf(edit(['plans', 1, 'description'], 5))).toEqual(['plans[1].description']);
    });

    it.each([-1, 1.5, 100_000_001, '500', REMOVE, Number.NaN])('fails on plans[1].price.cents for %p', (cents) => {
      expect(fieldsOf(edit(['plans', 1, 'price', 'cents'], cents))).toEqual(['plans[1].price.cents']);
    });

    it('accepts the maximum price', () => {
      expect(fieldsOf(edit(['plans', 1, 'price', 'cents'], 100_000_000))).toEqual([]);
    });

    it.each(['year', REMOVE])('fails on plans[1].price.unit for %p', (unit) => {
      expect(fieldsOf(edit(['plans', 1, 'price', 'unit'], unit))).toEqual(['plans[1].price.unit']);
    });

    it.each([REMOVE, 500])('fails on plans[1].price for %p', (price) => {
      expect(fieldsOf(edit(['plans', 1, 'price'], price))).toEqual(['plans[1].price']);
    });

    it('fails on an unknown state and accepts every known one', () => {
      expect(fieldsOf(edit(['plans', 1, 'state'], 'secret'))).toEqual(['plans[1].state']);
      for (const state of PLAN_STATES) expect(fieldsOf(edit(['plans', 1, 'state'], state))).toEqual([]);
    });

    it('fails on a default flag that is not a boolean', () => {
      expect(fieldsOf(edit(['plans', 1, 'default'], 'yes'))).toEqual(['plans[1].default']);
    });

    describe('meters', () => {
      const meter = (overrides: Partial<Record<keyof ManifestMeter, unknown>>): unknown => ({
        dimension: 'emails',
        unit: 'email',
        cents_per_unit: 1,
        included: 1000,
        ...overrides,
      });

      it.each([
        ['dimension', 'Emails'],
        ['dimension', '1emails'],
        ['dimension', 'e-mails'],
        ['dimension', REMOVE],
        ['unit', ''],
        ['unit', REMOVE],
        ['cents_per_unit', -1],
        ['cents_per_unit', 0.5],
        ['included', REMOVE],
        ['included', '1000'],
      ])('fails on plans[1].meters[0].%s for %p', (key, value) => {
        expect(fieldsOf(edit(['plans', 1, 'meters', 0, key], value))).toEqual([`plans[1].meters[0].${key}`]);
      });

      it('fails on a duplicated dimension', () => {
        const meters = [meter({}), meter({ dimension: 'sms' }), meter({ unit: 'message' })];
        expect(fieldsOf(edit(['plans', 1, 'meters'], meters))).toEqual(['plans[1].meters[2].dimension']);
      });

      it('fails on meters that are not an array, and on a meter that is not an object', () => {
        expect(fieldsOf(edit(['plans', 1, 'meters'], meter({})))).toEqual(['plans[1].meters']);
        expect(fieldsOf(edit(['plans', 1, 'meters'], [meter({}), 3]))).toEqual(['plans[1].meters[1]']);
      });

      it('accepts zero prices and allowances', () => {
        const meters = [meter({ cents_per_unit: 0, included: 0 })];
        expect(fieldsOf(edit(['plans', 1, 'meters'], meters))).toEqual([]);
      });
    });

    describe('exactly one default plan', () => {
      it('fails on the second of two default plans', () => {
        expect(fieldsOf(edit(['plans', 1, 'default'], true))).toEqual(['plans[1].default']);
      });

      it('fails on every default plan after the first', () => {
        let input = edit(['plans', 1, 'default'], true);
        const third: ManifestPlan = {
          name: 'max',
          human_name: 'Max',
          price: { cents: 9900, unit: 'month' },
          default: true,
        };
        input = edit(['plans', 2], third, input);
        expect(fieldsOf(input)).toEqual(['plans[1].default', 'plans[2].default']);
      });

      it('fails on "plans" when no plan is the default', () => {
        expect(fieldsOf(edit(['plans', 0, 'default'], REMOVE))).toEqual(['plans']);
        expect(fieldsOf(edit(['plans', 0, 'default'], false))).toEqual(['plans']);
      });
    });
  });

  it('refuses URLs that carry credentials', () => {
    expect(fieldsOf(edit(['api', 'production', 'base_url'], 'https://user:secret@vendor.example.com/heroku/resources'))).toEqual([
      'api.production.base_url',
    ]);
    expect(fieldsOf(edit(['api', 'test', 'sso_url'], 'http://user@localhost:4567/sso'))).toEqual(['api.test.sso_url']);
  });

  it('reports every error, each naming its field', () => {
    const input = {
      id: 'My Addon',
      name: 'My Add-on',
      api: {
        config_vars_prefix: 'MY_ADDON',
        config_vars: ['MY_ADDON_URL', 'MONGO_URL'],
        password: '',
        sso_salt: 'salt-salt-salt',
        regions: ['us', 'ap'],
        requires: ['attachable', 'attachable'],
        production: { base_url: 'http://vendor.example.com/r', sso_url: 'https://vendor.example.com/sso' },
        version: '3',
        username: 'my-addon',
      },
      plans: [
        { name: 'basic', human_name: 'Basic', price: { cents: -5, unit: 'month' }, default: true },
        { name: 'basic', human_name: 'Basic 2', price: { cents: 5, unit: 'month' }, default: true },
      ],
    };

    const result = validateManifest(input, PROD);

    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors.map((e) => e.field).sort()).toEqual(
      [
        'id',
        'api.regions[1]',
        'api.password',
        'api.production.base_url',
        'api.requires[1]',
        'api.config_vars[1]',
        'api.username',
        'plans[0].price.cents',
        'plans[1].name',
        'plans[1].default',
      ].sort(),
    );
    for (const error of result.ok ? [] : result.errors) expect(error.message).not.toBe('');
  });

  describe('property: generated valid manifests', () => {
    const regionsArb = fc
      .tuple(fc.constantFrom<KnownRegion>('us', '*'), fc.subarray([...KNOWN_REGIONS]))
      .map(([required, others]) => [required, ...others.filter((r) => r !== required)]);

    const urlWith = (scheme: string, host: fc.Arbitrary<string>): fc.Arbitrary<string> =>
      fc
        .tuple(
          host,
          fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }),
          fc.stringMatching(/^(\/[a-z0-9._~-]{1,12}){0,3}$/),
        )
        .map(([h, port, path]) => `${scheme}://${h}${port === undefined ? '' : `:${port}`}${path}`);
    const urlArb = (production: boolean): fc.Arbitrary<string> => {
      const https = urlWith('https', fc.domain());
      if (production) return https;
      return fc.oneof(https, urlWith('http', fc.constantFrom('localhost', '127.0.0.1', '127.45.6.7', '[::1]')));
    };
    const endpointsArb = (production: boolean) =>
      fc.record({ base_url: urlArb(production), sso_url: urlArb(production) });

    const meterArb = fc.record({
      dimension: fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/),
      unit: fc.string({ minLength: 1, maxLength: 10 }).filter((s) => s.trim() !== ''),
      cents_per_unit: fc.nat({ max: 10_000 }),
      included: fc.nat(),
    });

    const planArb = fc.record(
      {
        name: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,49}$/),
        human_name: fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim() !== ''),
        description: fc.string({ maxLength: 60 }),
        price: fc.record({ cents: fc.integer({ min: 0, max: 100_000_000 }), unit: fc.constant('month' as const) }),
        state: fc.constantFrom(...PLAN_STATES),
        meters: fc.uniqueArray(meterArb, { maxLength: 4, selector: (m) => m.dimension }),
      },
      { requiredKeys: ['name', 'human_name', 'price'] },
    );

    const plansArb = fc
      .uniqueArray(planArb, { minLength: 1, maxLength: 8, selector: (p) => p.name })
      .chain((plans) =>
        fc
          .tuple(
            fc.nat({ max: plans.length - 1 }),
            fc.array(fc.boolean(), { minLength: plans.length, maxLength: plans.length }),
          )
          .map(([defaultIndex, explicitFalse]) =>
            plans.map((plan, i): ManifestPlan => {
              if (i === defaultIndex) return { ...plan, default: true };
              return explicitFalse[i] ? { ...plan, default: false } : plan;
            }),
          ),
      );

    const manifestFor = (production: boolean) =>
      fc
        .record({
          id: fc.stringMatching(/^[a-z][a-z0-9-]{1,49}$/),
          prefix: fc.option(fc.stringMatching(/^[A-Z][0-9A-Z_]{0,20}$/), { nil: undefined }),
          suffixes: fc.option(fc.uniqueArray(fc.stringMatching(/^[0-9A-Z_]{0,12}$/), { maxLength: 4 }), {
            nil: undefined,
          }),
          password: fc.string({ minLength: 8, maxLength: 40 }),
          sso_salt: fc.string({ minLength: 8, maxLength: 40 }),
          regions: regionsArb,
          requires: fc.option(fc.subarray([...MANIFEST_REQUIREMENTS]), { nil: undefined }),
          production: endpointsArb(production),
          test: fc.option(endpointsArb(false), { nil: undefined }),
          timeout_ms: fc.option(fc.integer({ min: 1000, max: 30_000 }), { nil: undefined }),
          name: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== ''),
          plans: plansArb,
        })
        .map((g) => {
          const prefix = g.prefix ?? defaultConfigVarsPrefix(g.id);
          const manifest: AddonManifest = {
            id: g.id,
            name: g.name,
            api: {
              ...(g.prefix === undefined ? {} : { config_vars_prefix: g.prefix }),
              ...(g.suffixes === undefined ? {} : { config_vars: g.suffixes.map((s) => `${prefix}_${s}`) }),
              password: g.password,
              sso_salt: g.sso_salt,
              regions: g.regions,
              ...(g.requires === undefined ? {} : { requires: g.requires }),
              production: g.production,
              ...(g.test === undefined ? {} : { test: g.test }),
              version: '3',
              ...(g.timeout_ms === undefined ? {} : { timeout_ms: g.timeout_ms }),
            },
            plans: g.plans,
          };
          return { production, manifest, prefix };
        });
    // Not fc.boolean().chain(...): chain would rebuild the regex arbitraries on every run.
    const manifestArb = fc.oneof(manifestFor(true), manifestFor(false));

    it('validates ok, normalizes, and normalizing again changes nothing', () => {
      fc.assert(
        fc.property(manifestArb, ({ production, manifest, prefix }) => {
          const result = validateManifest(manifest, { production });
          expect(result).toMatchObject({ ok: true });
          if (!result.ok) return;
          expect(result.manifest.api.config_vars_prefix).toBe(prefix);
          expect(result.manifest.plans.filter((p) => p.default)).toHaveLength(1);
          expect(validateManifest(result.manifest, { production })).toEqual(result);
        }),
        { numRuns: 200 },
      );
    });
  });
});

describe('defaultConfigVarsPrefix', () => {
  it.each([
    ['fast-db', 'FAST_DB'],
    ['my-addon', 'MY_ADDON'],
    ['errorbucket', 'ERRORBUCKET'],
    ['a-b-c1', 'A_B_C1'],
  ])('turns %s into %s', (slug, prefix) => {
    expect(defaultConfigVarsPrefix(slug)).toBe(prefix);
  });
});

import { isIP } from 'node:net';
import {
  KNOWN_REGIONS,
  MANIFEST_REQUIREMENTS,
  PLAN_STATES,
  type KnownRegion,
  type ManifestEndpoints,
  type ManifestMeter,
  type ManifestRequirement,
  type NormalizedManifest,
  type NormalizedManifestApi,
  type NormalizedManifestPlan,
} from './manifest';

export interface ManifestFieldError {
  /** JSON path such as `api.config_vars[1]` or `plans[0].price.cents`; `""` is the manifest itself. */
  field: string;
  message: string;
}

export type ManifestValidationResult =
  | { ok: true; manifest: NormalizedManifest }
  | { ok: false; errors: ManifestFieldError[] };

export interface ValidateManifestOptions {
  /** In production mode plain-http production URLs are refused even for loopback hosts. */
  production: boolean;
}

/** The `field` reported when the input is not a JSON object at all. */
export const MANIFEST_ROOT_FIELD = '';

const SLUG_PATTERN = /^[a-z][a-z0-9-]{1,49}$/;
const CONFIG_VAR_PATTERN = /^[A-Z][0-9A-Z_]+$/;
const CONFIG_VARS_PREFIX_PATTERN = /^[A-Z][0-9A-Z_]*$/;
const PLAN_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,49}$/;
const METER_DIMENSION_PATTERN = /^[a-z][a-z0-9_]*$/;
const MIN_SECRET_LENGTH = 8;
const MAX_PLANS = 50;
const MAX_PRICE_CENTS = 100_000_000;
const MIN_TIMEOUT_MS = 1_000;
const MAX_TIMEOUT_MS = 30_000;

type JsonObject = Record<string, unknown>;
type Errors = ManifestFieldError[];
type UrlKind = 'production' | 'test';

/** The config var prefix a manifest gets when it names none: `fast-db` → `FAST_DB`. */
export function defaultConfigVarsPrefix(slug: string): string {
  return slug.toUpperCase().replaceAll('-', '_');
}

/**
 * Validates a vendor's add-on manifest (DESIGN §4.4: kensa's ManifestCheck plus Attache's rules)
 * and returns it normalized, or every error found. Unknown keys are tolerated and dropped from
 * the normalized manifest. Error messages never repeat secret or URL values.
 */
export function validateManifest(input: unknown, opts: ValidateManifestOptions): ManifestValidationResult {
  if (!isObject(input)) {
    return { ok: false, errors: [{ field: MANIFEST_ROOT_FIELD, message: 'must be a JSON object' }] };
  }
  const errors: Errors = [];
  const id = checkId(own(input, 'id'), errors);
  const name = checkNonBlankString(own(input, 'name'), 'name', errors);
  const cliPluginName = checkOptionalNonBlankString(own(input, 'cli_plugin_name'), 'cli_plugin_name', errors);
  const api = checkApi(own(input, 'api'), id, opts, errors);
  const plans = checkPlans(own(input, 'plans'), errors);

  if (errors.length > 0 || id === undefined || name === undefined || api === undefined || plans === undefined) {
    return { ok: false, errors };
  }
  return {
    ok: true,
    manifest: {
      id,
      name,
      ...(cliPluginName === undefined ? {} : { cli_plugin_name: cliPluginName }),
      api,
      plans,
    },
  };
}

// kensa rule 1, tightened to Attache's slug shape (which also rules out purely numeric ids).
function checkId(value: unknown, errors: Errors): string | undefined {
  const field = 'id';
  if (value === undefined) return fail(errors, field, 'is required');
  if (typeof value !== 'string') return fail(errors, field, 'must be a string');
  if (value === '') return fail(errors, field, 'must not be empty');
  if (!SLUG_PATTERN.test(value)) {
    return fail(
      errors,
      field,
      'must be 2 to 50 lowercase letters, digits or "-", starting with a letter (^[a-z][a-z0-9-]{1,49}$)',
    );
  }
  return value;
}

function checkApi(
  value: unknown,
  id: string | undefined,
  opts: ValidateManifestOptions,
  errors: Errors,
): NormalizedManifestApi | undefined {
  const field = 'api';
  // kensa rule 2
  if (value === undefined) return fail(errors, field, 'is required');
  if (!isObject(value)) return fail(errors, field, 'must be an object');

  const regions = checkRegions(own(value, 'regions'), at(field, 'regions'), errors);
  const password = checkSecret(own(value, 'password'), at(field, 'password'), errors);
  const ssoSalt = checkSecret(own(value, 'sso_salt'), at(field, 'sso_salt'), errors);
  const production = checkEndpoints(own(value, 'production'), at(field, 'production'), 'production', opts, errors);
  // Attache makes `test` optional, although kensa rule 5 requires it.
  const rawTest = own(value, 'test');
  const test =
    rawTest === undefined ? undefined : checkEndpoints(rawTest, at(field, 'test'), 'test', opts, errors);
  const version = checkVersion(own(value, 'version'), at(field, 'version'), errors);
  const requires = checkRequires(own(value, 'requires'), at(field, 'requires'), errors);
  const timeoutMs = checkTimeout(own(value, 'timeout_ms'), at(field, 'timeout_ms'), errors);
  const prefix = checkConfigVarsPrefix(own(value, 'config_vars_prefix'), id, at(field, 'config_vars_prefix'), errors);
  const configVars = checkConfigVars(own(value, 'config_vars'), prefix, at(field, 'config_vars'), errors);
  // kensa rule 8: Basic auth uses the manifest id as the username.
  if (Object.hasOwn(value, 'username')) {
    errors.push({
      field: at(field, 'username'),
      message: 'is deprecated and must be absent; the add-on id is the username',
    });
  }

  if (
    regions === undefined ||
    password === undefined ||
    ssoSalt === undefined ||
    production === undefined ||
    version === undefined ||
    requires === undefined ||
    prefix === undefined ||
    configVars === undefined
  ) {
    return undefined;
  }
  return {
    config_vars_prefix: prefix,
    config_vars: configVars,
    password,
    sso_salt: ssoSalt,
    regions,
    requires,
    production,
    ...(test === undefined ? {} : { test }),
    version,
    ...(timeoutMs === undefined ? {} : { timeout_ms: timeoutMs }),
  };
}

// kensa rule 3
function checkRegions(value: unknown, field: string, errors: Errors): KnownRegion[] | undefined {
  if (value === undefined) return fail(errors, field, 'is required');
  if (!isArray(value)) return fail(errors, field, 'must be an array');
  const regions: KnownRegion[] = [];
  value.forEach((region, i) => {
    if (isOneOf(KNOWN_REGIONS, region)) regions.push(region);
    else errors.push({ field: index(field, i), message: `must be one of ${KNOWN_REGIONS.join(', ')}` });
  });
  if (!value.includes('us') && !value.includes('*')) return fail(errors, field, 'must include "us" or "*"');
  return regions.length === value.length ? regions : undefined;
}

// kensa rule 4 (password), extended to sso_salt and a minimum length.
function checkSecret(value: unknown, field: string, errors: Errors): string | undefined {
  if (value === undefined) return fail(errors, field, 'is required');
  if (typeof value !== 'string') return fail(errors, field, 'must be a string');
  if (value === '') return fail(errors, field, 'must not be empty');
  if (value.length < MIN_SECRET_LENGTH) return fail(errors, field, `must be at least ${MIN_SECRET_LENGTH} characters`);
  return value;
}

function checkEndpoints(
  value: unknown,
  field: string,
  kind: UrlKind,
  opts: ValidateManifestOptions,
  errors: Errors,
): ManifestEndpoints | undefined {
  if (value === undefined) return fail(errors, field, 'is required');
  if (typeof value === 'string') {
    return fail(errors, field, 'must be an object with base_url and sso_url (the legacy string form is not supported)');
  }
  if (!isObject(value)) return fail(errors, field, 'must be an object');
  const baseUrl = checkUrl(own(value, 'base_url'), at(field, 'base_url'), kind, opts, errors);
  const ssoUrl = checkUrl(own(value, 'sso_url'), at(field, 'sso_url'), kind, opts, errors);
  if (baseUrl === undefined || ssoUrl === undefined) return undefined;
  return { base_url: baseUrl, sso_url: ssoUrl };
}

function checkUrl(
  value: unknown,
  field: string,
  kind: UrlKind,
  opts: ValidateManifestOptions,
  errors: Errors,
): string | undefined {
  if (value === undefined) return fail(errors, field, 'is required');
  if (typeof value !== 'string') return fail(errors, field, 'must be a string');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(errors, field, 'must be an absolute URL');
  }
  // Attache authenticates with Basic slug:password itself; credentials in the URL would leak wherever URLs are shown.
  if (url.username !== '' || url.password !== '') return fail(errors, field, 'must not contain a user name or password');
  if (kind === 'test') {
    if (url.protocol === 'https:' || url.protocol === 'http:') return value;
    return fail(errors, field, 'must be an http or https URL');
  }
  // kensa rule 6, relaxed for a vendor server on this machine while developing.
  if (url.protocol === 'https:') return value;
  if (url.protocol === 'http:' && !opts.production && isLoopbackHost(url.hostname)) return value;
  return fail(
    errors,
    field,
    opts.production
      ? 'must be an https URL'
      : 'must be an https URL (plain http is allowed only for localhost, 127.0.0.0/8 and [::1])',
  );
}

function isLoopbackHost(hostname: string): boolean {
  // WHATWG URL parsing has already lowercased names and normalized IPv4/IPv6 literals.
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  return isIP(hostname) === 4 && hostname.startsWith('127.');
}

function checkVersion(value: unknown, field: string, errors: Errors): '3' | undefined {
  if (value === undefined) return fail(errors, field, 'is required');
  if (value !== '3') return fail(errors, field, 'must be "3" (Add-on Partner API v3)');
  return value;
}

function checkRequires(value: unknown, field: string, errors: Errors): ManifestRequirement[] | undefined {
  if (value === undefined) return [];
  if (!isArray(value)) return fail(errors, field, 'must be an array');
  const requires: ManifestRequirement[] = [];
  let valid = true;
  value.forEach((requirement, i) => {
    if (!isOneOf(MANIFEST_REQUIREMENTS, requirement)) {
      valid = false;
      errors.push({ field: index(field, i), message: `must be one of ${MANIFEST_REQUIREMENTS.join(', ')}` });
    } else if (requires.includes(requirement)) {
      valid = false;
      errors.push({ field: index(field, i), message: `"${requirement}" is listed more than once` });
    } else {
      requires.push(requirement);
    }
  });
  return valid ? requires : undefined;
}

function checkTimeout(value: unknown, field: string, errors: Errors): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_TIMEOUT_MS || value > MAX_TIMEOUT_MS) {
    return fail(errors, field, `must be an integer from ${MIN_TIMEOUT_MS} to ${MAX_TIMEOUT_MS}`);
  }
  return value;
}

/** Returns the prefix config vars must carry, or undefined when it cannot be known. */
function checkConfigVarsPrefix(
  value: unknown,
  id: string | undefined,
  field: string,
  errors: Errors,
): string | undefined {
  if (value === undefined) return id === undefined ? undefined : defaultConfigVarsPrefix(id);
  if (typeof value !== 'string' || !CONFIG_VARS_PREFIX_PATTERN.test(value)) {
    return fail(errors, field, 'must match ^[A-Z][0-9A-Z_]*$');
  }
  return value;
}

// kensa rule 7. Without a known prefix (bad id or bad prefix, already reported) only the name shape
// is checked, so one mistake does not fail every config var too.
function checkConfigVars(
  value: unknown,
  prefix: string | undefined,
  field: string,
  errors: Errors,
): string[] | undefined {
  if (value === undefined) return [];
  if (!isArray(value)) return fail(errors, field, 'must be an array');
  const names: string[] = [];
  value.forEach((name, i) => {
    if (typeof name !== 'string' || !CONFIG_VAR_PATTERN.test(name)) {
      errors.push({ field: index(field, i), message: 'must match ^[A-Z][0-9A-Z_]+$' });
    } else if (prefix !== undefined && !name.startsWith(`${prefix}_`)) {
      errors.push({ field: index(field, i), message: `must start with "${prefix}_"` });
    } else {
      names.push(name);
    }
  });
  return names.length === value.length ? names : undefined;
}

function checkPlans(value: unknown, errors: Errors): NormalizedManifestPlan[] | undefined {
  const field = 'plans';
  if (value === undefined) return fail(errors, field, 'is required');
  if (!isArray(value)) return fail(errors, field, 'must be an array');
  if (value.length === 0) return fail(errors, field, 'must contain at least one plan');
  const before = errors.length;
  if (value.length > MAX_PLANS) errors.push({ field, message: `must contain at most ${MAX_PLANS} plans` });

  const namesSeen = new Map<string, number>();
  const defaults: number[] = [];
  const plans: NormalizedManifestPlan[] = [];
  value.forEach((raw, i) => {
    const plan = checkPlan(raw, index(field, i), namesSeen, i, errors);
    if (plan !== undefined) plans.push(plan);
    if (isObject(raw) && own(raw, 'default') === true) defaults.push(i);
  });

  const [first, ...others] = defaults;
  if (first === undefined) {
    errors.push({ field, message: 'exactly one plan must have "default": true; none has' });
  }
  for (const i of others) {
    errors.push({
      field: at(index(field, i), 'default'),
      message: `exactly one plan may have "default": true; plans[${first}] already has`,
    });
  }
  return errors.length === before ? plans : undefined;
}

function checkPlan(
  value: unknown,
  field: string,
  namesSeen: Map<string, number>,
  position: number,
  errors: Errors,
): NormalizedManifestPlan | undefined {
  if (!isObject(value)) return fail(errors, field, 'must be an object');
  const before = errors.length;

  const name = checkPlanName(own(value, 'name'), at(field, 'name'), namesSeen, position, errors);
  const humanName = checkNonBlankString(own(value, 'human_name'), at(field, 'human_name'), errors);
  const description = checkOptionalString(own(value, 'description'), at(field, 'description'), errors);
  const cents = checkPrice(own(value, 'price'), at(field, 'price'), errors);

  const rawDefault = own(value, 'default');
  if (rawDefault !== undefined && typeof rawDefault !== 'boolean') {
    errors.push({ field: at(field, 'default'), message: 'must be a boolean' });
  }
  const rawState = own(value, 'state');
  if (rawState !== undefined && !isOneOf(PLAN_STATES, rawState)) {
    errors.push({ field: at(field, 'state'), message: `must be one of ${PLAN_STATES.join(', ')}` });
  }
  const meters = checkMeters(own(value, 'meters'), at(field, 'meters'), errors);

  const complete = name !== undefined && humanName !== undefined && cents !== undefined && meters !== undefined;
  if (errors.length > before || !complete) return undefined;
  return {
    name,
    human_name: humanName,
    ...(description === undefined ? {} : { description }),
    price: { cents, unit: 'month' },
    default: rawDefault === true,
    state: isOneOf(PLAN_STATES, rawState) ? rawState : 'public',
    meters,
  };
}

function checkPlanName(
  value: unknown,
  field: string,
  namesSeen: Map<string, number>,
  position: number,
  errors: Errors,
): string | undefined {
  if (value === undefined) return fail(errors, field, 'is required');
  if (typeof value !== 'string' || !PLAN_NAME_PATTERN.test(value)) {
    return fail(errors, field, 'must match ^[a-z0-9][a-z0-9-]{0,49}$');
  }
  const earlier = namesSeen.get(value);
  if (earlier !== undefined) return fail(errors, field, `duplicates plans[${earlier}].name`);
  namesSeen.set(value, position);
  return value;
}

/** Returns the price in cents; the unit can only be 'month'. */
function checkPrice(value: unknown, field: string, errors: Errors): number | undefined {
  if (value === undefined) return fail(errors, field, 'is required');
  if (!isObject(value)) return fail(errors, field, 'must be an object');
  const cents = own(value, 'cents');
  const unit = own(value, 'unit');
  let valid = true;
  if (typeof cents !== 'number' || !Number.isInteger(cents) || cents < 0 || cents > MAX_PRICE_CENTS) {
    valid = false;
    errors.push({ field: at(field, 'cents'), message: `must be an integer from 0 to ${MAX_PRICE_CENTS}` });
  }
  if (unit !== 'month') {
    valid = false;
    errors.push({ field: at(field, 'unit'), message: 'must be "month"' });
  }
  return valid && typeof cents === 'number' ? cents : undefined;
}

function checkMeters(value: unknown, field: string, errors: Errors): ManifestMeter[] | undefined {
  if (value === undefined) return [];
  if (!isArray(value)) return fail(errors, field, 'must be an array');
  const before = errors.length;
  const dimensionsSeen = new Map<string, number>();
  const meters: ManifestMeter[] = [];
  value.forEach((raw, i) => {
    const meterField = index(field, i);
    if (!isObject(raw)) {
      errors.push({ field: meterField, message: 'must be an object' });
      return;
    }
    const dimension = own(raw, 'dimension');
    const dimensionField = at(meterField, 'dimension');
    if (typeof dimension !== 'string' || !METER_DIMENSION_PATTERN.test(dimension)) {
      errors.push({ field: dimensionField, message: 'must match ^[a-z][a-z0-9_]*$' });
    } else {
      const earlier = dimensionsSeen.get(dimension);
      if (earlier === undefined) dimensionsSeen.set(dimension, i);
      else errors.push({ field: dimensionField, message: `duplicates ${index(field, earlier)}.dimension` });
    }
    const unit = checkNonBlankString(own(raw, 'unit'), at(meterField, 'unit'), errors);
    const centsPerUnit = checkCount(own(raw, 'cents_per_unit'), at(meterField, 'cents_per_unit'), errors);
    const included = checkCount(own(raw, 'included'), at(meterField, 'included'), errors);
    const complete = unit !== undefined && centsPerUnit !== undefined && included !== undefined;
    if (typeof dimension === 'string' && complete) {
      meters.push({ dimension, unit, cents_per_unit: centsPerUnit, included });
    }
  });
  return errors.length === before ? meters : undefined;
}

function checkCount(value: unknown, field: string, errors: Errors): number | undefined {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    return fail(errors, field, 'must be a non-negative integer');
  }
  return value;
}

function checkNonBlankString(value: unknown, field: string, errors: Errors): string | undefined {
  if (value === undefined) return fail(errors, field, 'is required');
  if (typeof value !== 'string' || value.trim() === '') return fail(errors, field, 'must be a non-empty string');
  return value;
}

function checkOptionalNonBlankString(value: unknown, field: string, errors: Errors): string | undefined {
  return value === undefined ? undefined : checkNonBlankString(value, field, errors);
}

function checkOptionalString(value: unknown, field: string, errors: Errors): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return fail(errors, field, 'must be a string');
  return value;
}

function fail(errors: Errors, field: string, message: string): undefined {
  errors.push({ field, message });
  return undefined;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isArray(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}

function isOneOf<T extends string>(allowed: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value);
}

// Own properties only, so keys inherited from Object.prototype never count as present.
function own(object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function at(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function index(path: string, i: number): string {
  return `${path}[${i}]`;
}

import type { CheckEnvironment, CheckedManifest } from './checked-manifest';

const URL_LOOKING = /^[a-z][a-z0-9+.-]*:\/\//i;
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '0.0.0.0']);

/**
 * Kensa's ProvisionResponseCheck rules for the `config` a vendor returns (reference §8, 15–19):
 * an object; every key declared in `api.config_vars` and carrying the prefix; every value a
 * string; `*_URL` and URL-looking values parse with a scheme and a host, not localhost in
 * production. Returns the problems (empty when none) and warnings (declared vars not returned).
 * Messages name keys, never values, since config values are credentials.
 */
export function configProblems(
  config: unknown,
  manifest: CheckedManifest,
  env: CheckEnvironment,
): { problems: string[]; warnings: string[] } {
  if (config === undefined || config === null) return { problems: [], warnings: missing({}, manifest) };
  if (typeof config !== 'object' || Array.isArray(config)) {
    return { problems: [`expected "config" to be an object, got ${Array.isArray(config) ? 'an array' : typeof config}`], warnings: [] };
  }
  const entries = Object.entries(config as Record<string, unknown>);
  const problems: string[] = [];
  for (const [key, value] of entries) {
    if (!key.startsWith(`${manifest.prefix}_`)) problems.push(`${key} does not start with "${manifest.prefix}_"`);
    if (!manifest.configVars.includes(key)) problems.push(`${key} is not declared in api.config_vars`);
    if (typeof value !== 'string') {
      problems.push(`${key} is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}, expected a string`);
      continue;
    }
    if (key.endsWith('_URL') || URL_LOOKING.test(value)) {
      const problem = urlProblem(value, env);
      if (problem) problems.push(`${key} ${problem}`);
    }
  }
  return { problems, warnings: missing(config as Record<string, unknown>, manifest) };
}

/** The same rules for `PATCH /addons/{id}/config` items `[{name, value}]` sent to the partner API. */
export function configItemsProblems(items: unknown, manifest: CheckedManifest, env: CheckEnvironment): string[] {
  if (!Array.isArray(items)) return ['expected "config" to be an array of {name, value}'];
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  items.forEach((item, i) => {
    const name = typeof item === 'object' && item !== null ? (item as { name?: unknown }).name : undefined;
    if (typeof name !== 'string') problems.push(`config[${i}] has no "name"`);
    else config[name] = (item as { value?: unknown }).value;
  });
  // A null value removes a var through the partner API, so only non-null values must be strings.
  const present = Object.fromEntries(Object.entries(config).filter(([, value]) => value !== null));
  const names = Object.keys(config).filter((name) => config[name] === null);
  const nullProblems = names.flatMap((name) => (manifest.configVars.includes(name) ? [] : [`${name} is not declared in api.config_vars`]));
  return [...problems, ...nullProblems, ...configProblems(present, manifest, env).problems];
}

function urlProblem(value: string, env: CheckEnvironment): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a valid URL';
  }
  if (!url.protocol || url.host === '') return 'is a URL without a host';
  if (env === 'production' && LOCAL_HOSTS.has(url.hostname)) return `points at ${url.hostname} (not allowed in production)`;
  return undefined;
}

function missing(config: Record<string, unknown>, manifest: CheckedManifest): string[] {
  return manifest.configVars.filter((name) => !Object.hasOwn(config, name)).map((name) => `${name} is declared but was not returned`);
}

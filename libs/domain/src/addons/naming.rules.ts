import { randomInt } from 'node:crypto';
import { InvalidInputError } from '@app/common';

const WORDS = [
  'amber', 'ancient', 'angular', 'aromatic', 'autumn', 'bold', 'brave', 'breezy', 'bright', 'calm',
  'clear', 'clever', 'cloudy', 'cool', 'cosmic', 'crisp', 'curly', 'curved', 'dapper', 'deep',
  'dense', 'dusty', 'eager', 'early', 'elegant', 'even', 'fair', 'fancy', 'fluffy', 'frosty',
  'gentle', 'giant', 'glad', 'golden', 'graceful', 'green', 'happy', 'hidden', 'humble', 'icy',
  'jolly', 'keen', 'kind', 'lively', 'lucky', 'lunar', 'mellow', 'misty', 'modern', 'mossy',
  'narrow', 'nimble', 'noble', 'opaque', 'orbital', 'pale', 'patient', 'polished', 'proud', 'quiet',
  'rapid', 'regular', 'rigid', 'rocky', 'round', 'rugged', 'rustic', 'sandy', 'shiny', 'silent',
  'silver', 'simple', 'sleek', 'slender', 'smooth', 'snowy', 'solid', 'sparkling', 'spicy', 'steady',
  'stormy', 'sturdy', 'sunny', 'swift', 'tender', 'tidy', 'tranquil', 'trusty', 'vast', 'vertical',
  'vivid', 'warm', 'whispering', 'wild', 'windy', 'witty', 'young', 'zesty', 'concave', 'opal',
];

const NOUNS = [
  'river', 'meadow', 'harbor', 'forest', 'summit', 'canyon', 'island', 'lagoon', 'prairie', 'glacier',
  'falls', 'ridge', 'reef', 'dune', 'grove', 'brook', 'cove', 'peak', 'valley', 'delta',
];

export const COLORS = [
  'AMBER', 'AQUA', 'BLACK', 'BLUE', 'BRONZE', 'BROWN', 'CHARCOAL', 'COBALT', 'COPPER', 'CRIMSON',
  'CYAN', 'GOLD', 'GRAY', 'GREEN', 'IVORY', 'JADE', 'LIME', 'MAGENTA', 'MAROON', 'MAUVE', 'NAVY',
  'OLIVE', 'ONYX', 'ORANGE', 'PINK', 'PURPLE', 'RED', 'ROSE', 'RUBY', 'SILVER', 'TEAL', 'VIOLET',
  'WHITE', 'YELLOW',
];

const pick = <T>(list: readonly T[]): T => list[randomInt(list.length)];

/** `<service>-<word>-<number>`, the pattern Heroku uses (`postgresql-curved-12345`). */
export function generateAddonName(serviceSlug: string): string {
  return `${serviceSlug.replace(/^heroku-/, '')}-${pick(WORDS)}-${randomInt(1, 100_000)}`;
}

export function generateAppName(): string {
  return `${pick(WORDS)}-${pick(NOUNS)}-${randomInt(10_000, 100_000)}`;
}

const ADDON_NAME_RE = /^[a-zA-Z][A-Za-z0-9_-]{1,63}$/;
export function assertValidAddonName(name: string): void {
  if (!ADDON_NAME_RE.test(name)) {
    throw new InvalidInputError(
      'Name must start with a letter, contain only letters, digits, - and _, and be 2 to 64 characters long.',
    );
  }
}

const APP_NAME_RE = /^[a-z][a-z0-9-]{1,28}[a-z0-9]$/;
export function assertValidAppName(name: string): void {
  if (!APP_NAME_RE.test(name)) {
    throw new InvalidInputError(
      'Name must start with a letter, end with a letter or digit, and can only contain lowercase letters, digits, and dashes (3 to 30 characters).',
    );
  }
}

/** Aliases are upper case: `--as shared-db` becomes `SHARED_DB`. */
export function normalizeAlias(input: string): string {
  const alias = input.trim().toUpperCase().replace(/-/g, '_');
  if (!/^[A-Z][A-Z0-9_]{0,62}$/.test(alias)) {
    throw new InvalidInputError(
      `Invalid attachment name "${input}": must start with a letter and contain only letters, digits and underscores.`,
    );
  }
  return alias;
}

/** The stem of a service's coloured aliases: `postgresql` → `POSTGRESQL`, `sudo-notes` → `SUDO_NOTES`. */
export const colouredAliasBase = (serviceSlug: string): string => serviceSlug.toUpperCase().replace(/-/g, '_');

/** The first free `<BASE>_<COLOR>` alias, then numbered ones once the colours run out. */
export function colouredAlias(base: string, taken: ReadonlySet<string>): string {
  const start = randomInt(COLORS.length);
  for (let i = 0; i < COLORS.length; i++) {
    const candidate = `${base}_${COLORS[(start + i) % COLORS.length]}`;
    if (!taken.has(candidate)) return candidate;
  }
  for (let n = 2; ; n++) {
    const candidate = `${base}_${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/**
 * Maps a provider's var (`SUDO_NOTES_URL`) to the app-side name under an alias (`NOTES_URL`):
 * the service prefix is replaced by the attachment's alias.
 */
export function aliasedVarName(alias: string, providerVar: string, servicePrefix: string): string {
  if (providerVar === servicePrefix) return alias;
  if (providerVar.startsWith(`${servicePrefix}_`)) return `${alias}${providerVar.slice(servicePrefix.length)}`;
  return `${alias}_${providerVar}`;
}

const CONFIG_VAR_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
export function assertValidConfigVarName(name: string): void {
  if (!CONFIG_VAR_NAME_RE.test(name)) {
    throw new InvalidInputError(
      `Invalid config var name "${name}": use letters, digits and underscores, not starting with a digit.`,
    );
  }
}

import { ProviderRefusedError } from '../shared/ports';

/** What the create request's `config` (the CLI's options after `--`) asks a dedicated add-on to start from. */
export type DedicatedRequest =
  | { kind: 'new' }
  | { kind: 'fork' | 'follow'; source: string }
  | { kind: 'rollback'; source: string; to: Date }
  | { kind: 'rollback'; source: string; byMs: number };

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3600_000, d: 24 * 3600_000 };

/** `3 hours`, `90 minutes`, `2d`. */
export function parseDuration(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?)\s*$/i.exec(text);
  if (!match) return null;
  return Math.round(Number(match[1]) * UNITS[match[2][0].toLowerCase()]);
}

/** `2026-11-20 10:00+00`, `2026-11-20T10:00:00Z`; without a zone, UTC. */
export function parseMoment(text: string): Date | null {
  const match = /^\s*(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)\s*(Z|[+-]\d{2}(?::?\d{2})?)?\s*$/i.exec(text);
  if (!match) return null;
  let zone = (match[3] ?? 'Z').toUpperCase();
  if (zone !== 'Z') zone = zone.length === 3 ? `${zone}:00` : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const time = match[2].length === 5 ? `${match[2]}:00` : match[2];
  const at = new Date(`${match[1]}T${time}${zone}`);
  return Number.isNaN(at.getTime()) ? null : at;
}

/** Reads `--rollback SOURCE --to TIME | --by DURATION`, `--fork SOURCE` or `--follow SOURCE`; refuses anything else. */
export function parseDedicatedRequest(options: Record<string, string>): DedicatedRequest {
  const modes = ['rollback', 'fork', 'follow'].filter((key) => key in options);
  if (modes.length > 1) throw new ProviderRefusedError(`Choose one of --${modes.join(', --')}.`);
  const known = new Set(['rollback', 'to', 'by', 'fork', 'follow']);
  const unknown = Object.keys(options).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new ProviderRefusedError(`Unknown option${unknown.length > 1 ? 's' : ''} --${unknown.join(', --')} (dedicated plans take --rollback with --to or --by, --fork or --follow).`);
  const source = (key: string) => {
    const value = options[key];
    if (!value || value === 'true') throw new ProviderRefusedError(`--${key} needs a source: an add-on name, an attachment name on the app, or a config var such as DATABASE_URL.`);
    return value;
  };
  if (modes.length === 0) {
    if ('to' in options || 'by' in options) throw new ProviderRefusedError('--to and --by go with --rollback SOURCE.');
    return { kind: 'new' };
  }
  const kind = modes[0] as 'rollback' | 'fork' | 'follow';
  if (kind !== 'rollback') {
    if ('to' in options || 'by' in options) throw new ProviderRefusedError('--to and --by go with --rollback SOURCE.');
    return { kind, source: source(kind) };
  }
  if (('to' in options) === ('by' in options)) throw new ProviderRefusedError("--rollback needs exactly one of --to '2026-11-20 10:00+00' or --by '3 hours'.");
  if ('to' in options) {
    const to = parseMoment(options.to);
    if (!to) throw new ProviderRefusedError(`--to ${JSON.stringify(options.to)} is not a time such as '2026-11-20 10:00+00'.`);
    return { kind, source: source(kind), to };
  }
  const byMs = parseDuration(options.by);
  if (byMs === null || byMs <= 0) throw new ProviderRefusedError(`--by ${JSON.stringify(options.by)} is not a duration such as '3 hours'.`);
  return { kind, source: source(kind), byMs };
}

import { ProviderRefusedError } from '../shared/ports';
import { parseDedicatedRequest, parseDuration, parseMoment } from './pg-dedicated-requests';

describe('dedicated PostgreSQL create options', () => {
  it('reads the times the Heroku CLI passes after --', () => {
    expect(parseMoment('2026-11-20 10:00+00')?.toISOString()).toBe('2026-11-20T10:00:00.000Z');
    expect(parseMoment('2026-11-20 12:30:15+0230')?.toISOString()).toBe('2026-11-20T10:00:15.000Z');
    expect(parseMoment('2026-11-20T10:00:00.123Z')?.toISOString()).toBe('2026-11-20T10:00:00.123Z');
    expect(parseMoment('2026-11-20 10:00')?.toISOString()).toBe('2026-11-20T10:00:00.000Z');
    expect(parseMoment('yesterday')).toBeNull();
    expect(parseMoment('2026-13-40 10:00')).toBeNull();
  });

  it('reads durations', () => {
    expect(parseDuration('3 hours')).toBe(3 * 3600_000);
    expect(parseDuration('90 minutes')).toBe(90 * 60_000);
    expect(parseDuration('2d')).toBe(2 * 24 * 3600_000);
    expect(parseDuration('1.5 h')).toBe(5400_000);
    expect(parseDuration('3 fortnights')).toBeNull();
  });

  it('takes one of rollback, fork or follow, with a source', () => {
    expect(parseDedicatedRequest({})).toEqual({ kind: 'new' });
    expect(parseDedicatedRequest({ fork: 'DATABASE_URL' })).toEqual({ kind: 'fork', source: 'DATABASE_URL' });
    expect(parseDedicatedRequest({ follow: 'postgresql-curved-12345' })).toEqual({ kind: 'follow', source: 'postgresql-curved-12345' });
    expect(parseDedicatedRequest({ rollback: 'DATABASE', by: '3 hours' })).toEqual({ kind: 'rollback', source: 'DATABASE', byMs: 3 * 3600_000 });
    expect(parseDedicatedRequest({ rollback: 'DATABASE', to: '2026-11-20 10:00+00' })).toEqual({ kind: 'rollback', source: 'DATABASE', to: new Date('2026-11-20T10:00:00Z') });
  });

  it.each([
    [{ fork: 'A', follow: 'B' }, /Choose one/],
    [{ fork: 'true' }, /needs a source/],
    [{ rollback: 'A' }, /exactly one of --to/],
    [{ rollback: 'A', to: 'x', by: '1h' }, /exactly one of --to/],
    [{ rollback: 'A', to: 'noon' }, /is not a time/],
    [{ rollback: 'A', by: 'a while' }, /is not a duration/],
    [{ fork: 'A', to: '2026-11-20 10:00' }, /go with --rollback/],
    [{ size: 'big' }, /Unknown option --size/],
  ])('refuses %j', (options, pattern) => {
    expect(() => parseDedicatedRequest(options as Record<string, string>)).toThrow(ProviderRefusedError);
    expect(() => parseDedicatedRequest(options as Record<string, string>)).toThrow(pattern);
  });
});

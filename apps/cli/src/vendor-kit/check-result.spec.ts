import { failed, formatResult, formatSummary, passed } from './check-result';

describe('check result lines', () => {
  it('prints ok and FAIL lines and the summary', () => {
    expect(formatResult(passed('manifest'))).toBe('ok   manifest');
    expect(formatResult(passed('provision.async', 'not applicable: x'))).toBe('ok   provision.async (not applicable: x)');
    expect(formatResult(failed('provision.auth', 'expected 401, got HTTP 200'))).toBe('FAIL provision.auth: expected 401, got HTTP 200');
    expect(formatSummary([passed('a'), failed('b', 'r'), passed('c')])).toBe('2 passed, 1 failed');
    expect(formatSummary([])).toBe('0 passed, 0 failed');
  });
});

/** The outcome of one conformance check: `ok   <name>` or `FAIL <name>: <reason>`. */
export interface CheckResult {
  name: string;
  ok: boolean;
  /** Why it failed: what was expected and what came back. */
  reason?: string;
  /** Shown after a passing check, e.g. why it did not apply or a kensa-style warning. */
  note?: string;
}

export const passed = (name: string, note?: string): CheckResult => ({ name, ok: true, ...(note ? { note } : {}) });
export const failed = (name: string, reason: string): CheckResult => ({ name, ok: false, reason });

/** One line per check, as `attache vendor:check` prints them. */
export function formatResult(result: CheckResult): string {
  if (!result.ok) return `FAIL ${result.name}: ${result.reason ?? 'failed'}`;
  return result.note ? `ok   ${result.name} (${result.note})` : `ok   ${result.name}`;
}

export function formatSummary(results: readonly CheckResult[]): string {
  const passedCount = results.filter((r) => r.ok).length;
  return `${passedCount} passed, ${results.length - passedCount} failed`;
}

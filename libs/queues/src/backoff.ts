/** Name of the custom backoff the workers register. */
export const CAPPED_JITTERED_BACKOFF = 'capped-jittered-exponential';

/**
 * Exponential backoff with "equal jitter", capped: attempt n waits between half and all of
 * min(cap, base * 2^(n-1)), so many failing jobs do not retry in lockstep.
 */
export function cappedJitteredDelay(attemptsMade: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

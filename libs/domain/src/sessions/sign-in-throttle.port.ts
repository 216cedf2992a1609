/** Who is trying to sign in: the email asked for (absent for API keys) and the client's address. */
export interface SignInAttempt {
  email?: string;
  ip: string;
}

/**
 * Counts sign-in attempts per email and per client address across every API process (Redis,
 * libs/auth). An attempt counts from the moment it starts, before its credentials are checked, so
 * guesses sent all at once cannot outrun the limit; a right one stops counting when it succeeds.
 */
export abstract class SignInThrottle {
  /**
   * Starts `attempt`: checks both limits and counts it against them in one step. Answers 0 when it
   * may go on, or the seconds until it may try again (then nothing is counted).
   */
  abstract begin(attempt: SignInAttempt): Promise<number>;
  /** The attempt's credentials were right: it no longer counts, and the email's failures are forgotten. */
  abstract succeeded(attempt: SignInAttempt): Promise<void>;
}

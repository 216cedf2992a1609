/** Who is trying to sign in: the email asked for (absent for API keys) and the client's address. */
export interface SignInAttempt {
  email?: string;
  ip: string;
}

/**
 * Counts failed sign-ins per email and per client address across every API process (Redis,
 * libs/auth). While either has failed too often, sign-in is refused before credentials are checked.
 */
export abstract class SignInThrottle {
  /** Seconds until `attempt` may try again, or 0 when it may try now. */
  abstract retryAfterSeconds(attempt: SignInAttempt): Promise<number>;
  abstract recordFailure(attempt: SignInAttempt): Promise<void>;
  /** A successful sign-in forgets the email's failures. */
  abstract recordSuccess(attempt: SignInAttempt): Promise<void>;
}

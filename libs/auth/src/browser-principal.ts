import { CurrentSession } from '@app/domain';
import { Principal } from './principal';

/** A developer signed in with a browser session: an account principal plus the session (for CSRF checks and sign-out). */
export type BrowserPrincipal = Extract<Principal, { kind: 'account' }> & { session: CurrentSession; sessionId: string };

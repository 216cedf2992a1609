/**
 * The browser session cookie and the sign-in form's cookie. Over https they are `Secure` and
 * carry the `__Host-` prefix (no Domain, Path=/, so no subdomain can set or shadow them); over
 * plain http (a local Attache) they cannot be Secure, so they go without both.
 */
export interface SessionCookieNames {
  session: string;
  signIn: string;
  secure: boolean;
}

export const sessionCookieNames = (publicUrl: string): SessionCookieNames => {
  const secure = new URL(publicUrl).protocol === 'https:';
  const prefix = secure ? '__Host-' : '';
  return { session: `${prefix}attache_session`, signIn: `${prefix}attache_sign_in`, secure };
};

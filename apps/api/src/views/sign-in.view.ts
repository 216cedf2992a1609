import { SafeHtml, html } from './html';
import { layout } from './layout.view';

export interface SignInViewModel {
  csrfToken: string;
  /** Where to go after signing in (already checked to be a path on Attache). */
  next: string | null;
  email?: string;
  error?: string;
  nonce: string;
}

/** `GET /login`: email and password, or an API key; each form carries the sign-in CSRF token. */
export function signInView(model: SignInViewModel): SafeHtml {
  const hidden = html`<input type="hidden" name="_csrf" value="${model.csrfToken}">${model.next ? html`<input type="hidden" name="next" value="${model.next}">` : null}`;
  const body = html`<h1>Sign in to Attache</h1>
${model.error ? html`<p class="error" role="alert">${model.error}</p>` : null}
<form method="post" action="/login" id="password-sign-in">${hidden}
  <label for="email">Email</label><input type="email" id="email" name="email" autocomplete="username" required value="${model.email ?? ''}">
  <label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
</form>
<h2>Or with an API key</h2>
<form method="post" action="/login" id="api-key-sign-in">${hidden}
  <label for="api_key">API key</label><input type="password" id="api_key" name="api_key" autocomplete="off" required>
  <button type="submit">Sign in with API key</button>
</form>`;
  return layout('Sign in', body, { nonce: model.nonce });
}

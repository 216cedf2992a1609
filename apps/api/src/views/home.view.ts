import { AttachmentView } from '@app/domain';
import { SafeHtml, html } from './html';
import { PageOptions, layout } from './layout.view';

export interface HomeViewModel {
  email: string;
  /** The add-ons on the developer's apps, one row per attachment (each opens as seen from its app). */
  attachments: AttachmentView[];
  more: boolean;
  hasPassword: boolean;
  notice: string | null;
}

/** The signed-in home page: the developer's add-ons with links to their dashboards, and the password form. */
export function homeView(model: HomeViewModel, options: PageOptions & { signedIn: { email: string; csrfToken: string } }): SafeHtml {
  const rows = model.attachments.map(
    (a) =>
      html`<tr><td>${a.app.name}</td><td>${a.attachment.name}</td><td><a href="/sso/apps/${a.app.id}/addons/${a.addon.id}">${a.addon.name}</a></td><td>${a.service.slug}:${a.plan.name}</td><td>${a.addon.state}</td></tr>`,
  );
  const body = html`<h1>Your add-ons</h1>
${model.notice ? html`<p class="notice" role="status">${model.notice}</p>` : null}
<p>Signed in as ${model.email}.</p>
${
  rows.length
    ? html`<table id="addons"><thead><tr><th>App</th><th>As</th><th>Add-on</th><th>Plan</th><th>State</th></tr></thead><tbody>${rows}</tbody></table>${model.more ? html`<p>More add-ons are listed by <code>heroku addons --all</code>.</p>` : null}`
    : html`<p>No add-ons yet.</p>`
}
<h2>${model.hasPassword ? 'Change your password' : 'Set a password'}</h2>
<form method="post" action="/account/password" id="password-form">
  <input type="hidden" name="_csrf" value="${options.signedIn.csrfToken}">
  ${model.hasPassword ? html`<label for="current_password">Current password</label><input type="password" id="current_password" name="current_password" autocomplete="current-password" required>` : null}
  <label for="new_password">New password (at least 12 characters)</label><input type="password" id="new_password" name="password" autocomplete="new-password" minlength="12" required>
  <button type="submit">Save password</button>
</form>`;
  return layout('Your add-ons', body, options);
}

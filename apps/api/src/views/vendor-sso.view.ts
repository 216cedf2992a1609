import { SsoForm } from '@app/domain';
import { SafeHtml, html } from './html';
import { PageOptions, layout } from './layout.view';

/**
 * The hop to a vendor's dashboard: the signed SSO form (reference §4) posted by the browser. A
 * one-line script (allowed by the page's CSP nonce) submits it; without JavaScript the button does.
 */
export function vendorSsoView(addonName: string, serviceName: string, form: SsoForm, options: PageOptions): SafeHtml {
  const fields = Object.entries(form.params).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  const body = html`<h1>Opening ${addonName}</h1>
<p>Taking you to the ${serviceName} dashboard…</p>
<form id="sso" method="${form.method}" action="${form.action}">${fields}<button type="submit">Continue to ${serviceName}</button></form>
<script nonce="${options.nonce}">document.getElementById('sso').submit();</script>`;
  return layout(`Opening ${addonName}`, body, options);
}

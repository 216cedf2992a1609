import { AddonLandingPage, FirstPartyDetails } from '@app/domain';
import { toKafkaResponse } from '../mappers/kafka.mapper';
import { toInfoResponse } from '../mappers/postgres.mapper';
import { toRedisResponse } from '../mappers/redis.mapper';
import { SafeHtml, html } from './html';
import { PageOptions, layout } from './layout.view';

type FirstPartyPage = Extract<AddonLandingPage, { kind: 'first_party' }>;

/** The same fields as the service's Platform API route (`GET /addons/{id}/postgres|redis|kafka`), which carry no secrets. */
const detailsResponse = (details: FirstPartyDetails): Record<string, unknown> => {
  if (details.provider === 'postgres') return toInfoResponse(details.details);
  if (details.provider === 'redis') return toRedisResponse(details.details.target, details.details.info);
  return toKafkaResponse(details.details.target, details.details.limits, details.details.metrics);
};

/** `{a: {b: 1}}` as rows `a.b → 1`; lists of records stay whole, as JSON. */
const rows = (value: Record<string, unknown>, prefix = ''): [string, string][] =>
  Object.entries(value).flatMap(([key, v]): [string, string][] => {
    const name = prefix + key;
    if (key === 'addon' || key === 'plan') return [];
    if (v instanceof Date) return [[name, v.toISOString()]];
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return rows(v as Record<string, unknown>, `${name}.`);
    return [[name, v === null || v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v)]];
  });

/** Attache's own page for a first-party add-on: plan, state, attachments and what the service reports. */
export function addonPageView(page: FirstPartyPage, options: PageOptions): SafeHtml {
  const { addon, service, plan, app, pendingPlan } = page.view;
  const attachments = page.attachments.map((a) => html`<li>${a.app.name}::${a.attachment.name}${a.attachment.namespace ? ` (${a.attachment.namespace})` : ''}</li>`);
  const details = page.details
    ? html`<table id="service-details"><tbody>${rows(detailsResponse(page.details)).map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${v}</td></tr>`)}</tbody></table>`
    : html`<p id="service-details">${page.unavailable ?? `Details appear once the add-on is provisioned.`}</p>`;
  const body = html`<h1>${addon.name}</h1>
<dl>
  <dt>Service</dt><dd>${service.humanName} (${service.slug})</dd>
  <dt>Plan</dt><dd id="addon-plan">${service.slug}:${plan.name}${pendingPlan ? ` (changing to ${pendingPlan.name})` : ''}</dd>
  <dt>State</dt><dd id="addon-state">${addon.state}</dd>
  <dt>Billing app</dt><dd>${app.name}</dd>
  <dt>Opened from</dt><dd>${page.app.name}</dd>
  <dt>Created</dt><dd>${addon.createdAt.toISOString()}</dd>
</dl>
<h2>Attachments</h2><ul id="attachments">${attachments}</ul>
<h2>${service.humanName}</h2>${details}`;
  return layout(addon.name, body, options);
}

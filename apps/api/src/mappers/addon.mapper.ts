import { AddonView, AttachmentView, aliasedVarName } from '@app/domain';
import { toPriceResponse } from './catalog.mapper';

const planRef = (view: { service: AddonView['service']; plan: AddonView['plan'] }) => ({
  id: view.plan.id,
  name: `${view.service.slug}:${view.plan.name}`,
  price: toPriceResponse(view.plan),
});

/**
 * Where `heroku addons:open` takes a developer: Attache's landing page for the add-on as seen from
 * `appId` (Heroku's `https://addons-sso.heroku.com/apps/{app_id}/addons/{addon_id}`), which signs
 * the vendor's SSO form or shows a first-party add-on's own page (docs/sso.md).
 */
export const addonWebUrl = (publicUrl: string, appId: string, addonId: string): string => `${publicUrl}/sso/apps/${appId}/addons/${addonId}`;

/**
 * `asRequested`: the answer to a plan change shows the plan asked for (the CLI prints its price)
 * while `pending_plan` says the provider has yet to confirm it.
 */
export const toAddonResponse = (view: AddonView, publicUrl: string, options: { asRequested?: boolean } = {}) => {
  const { addon, service, app, pendingPlan } = view;
  const shown = options.asRequested && pendingPlan ? { ...view, plan: pendingPlan } : view;
  const message = options.asRequested
    ? pendingPlan
      ? `The plan change to ${service.slug}:${pendingPlan.name} is in progress.`
      : null
    : (addon.failureReason ?? addon.provisionMessage);
  return {
    id: addon.id,
    name: addon.name,
    app: { id: app.id, name: app.name },
    addon_service: { id: service.id, name: service.slug, human_name: service.humanName },
    plan: planRef(shown),
    billed_price: { cents: addon.billedPriceCents, contract: false, unit: addon.billedPriceUnit },
    billing_entity: { id: app.id, name: app.name, type: 'app' },
    config_vars: view.configVarNames,
    state: addon.state,
    provider_id: addon.providerId,
    provision_message: message,
    pending_plan: pendingPlan ? { id: pendingPlan.id, name: `${service.slug}:${pendingPlan.name}` } : null,
    plan_change_error: addon.planChangeError,
    web_url: addonWebUrl(publicUrl, app.id, addon.id),
    actions: [],
    created_at: addon.createdAt.toISOString(),
    updated_at: addon.updatedAt.toISOString(),
  };
};

export const toAttachmentResponse = (view: AttachmentView, publicUrl: string) => ({
  id: view.attachment.id,
  name: view.attachment.name,
  namespace: view.attachment.namespace,
  app: { id: view.app.id, name: view.app.name },
  addon: {
    id: view.addon.id,
    name: view.addon.name,
    app: { id: view.addonApp.id, name: view.addonApp.name },
    plan: planRef(view),
  },
  config_vars: view.service.configVars.map((v) => aliasedVarName(view.attachment.name, v, view.service.configVarsPrefix)),
  web_url: addonWebUrl(publicUrl, view.app.id, view.addon.id),
  log_input_url: null,
  created_at: view.attachment.createdAt.toISOString(),
  updated_at: view.attachment.updatedAt.toISOString(),
});

import { AddonView, AttachmentView, aliasedVarName } from '@app/domain';
import { toPriceResponse } from './catalog.mapper';

const planRef = (view: { service: AddonView['service']; plan: AddonView['plan'] }) => ({
  id: view.plan.id,
  name: `${view.service.slug}:${view.plan.name}`,
  price: toPriceResponse(view.plan),
});

export const toAddonResponse = (view: AddonView) => {
  const { addon, service, app, pendingPlan } = view;
  return {
    id: addon.id,
    name: addon.name,
    app: { id: app.id, name: app.name },
    addon_service: { id: service.id, name: service.slug, human_name: service.humanName },
    plan: planRef(view),
    billed_price: { cents: addon.billedPriceCents, contract: false, unit: addon.billedPriceUnit },
    billing_entity: { id: app.id, name: app.name, type: 'app' },
    config_vars: view.configVarNames,
    state: addon.state,
    provider_id: addon.providerId,
    provision_message: addon.failureReason ?? addon.provisionMessage,
    pending_plan: pendingPlan ? { id: pendingPlan.id, name: `${service.slug}:${pendingPlan.name}` } : null,
    plan_change_error: addon.planChangeError,
    web_url: null,
    actions: [],
    created_at: addon.createdAt.toISOString(),
    updated_at: addon.updatedAt.toISOString(),
  };
};

export const toAttachmentResponse = (view: AttachmentView) => ({
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
  web_url: null,
  log_input_url: null,
  created_at: view.attachment.createdAt.toISOString(),
  updated_at: view.attachment.updatedAt.toISOString(),
});

import { AddonService, Plan, Region } from '@app/domain';

export const toServiceResponse = (s: AddonService) => ({
  id: s.id,
  name: s.slug,
  human_name: s.humanName,
  cli_plugin_name: null,
  state: s.state,
  supports_multiple_installations: s.requires.includes('many_per_app'),
  supports_sharing: s.requires.includes('attachable'),
  supported_generations: [],
  created_at: s.createdAt.toISOString(),
  updated_at: s.updatedAt.toISOString(),
});

export const toPriceResponse = (p: Plan) => ({
  cents: p.priceCents,
  unit: p.priceUnit,
  contract: false,
  // Usage that costs nothing (first-party services' own meters) does not make a price metered.
  metered: p.meters.some((m) => m.cents_per_unit > 0),
});

export const toPlanResponse = (p: Plan, s: AddonService) => ({
  id: p.id,
  name: `${s.slug}:${p.name}`,
  human_name: p.humanName,
  description: p.description,
  default: p.isDefault,
  state: p.state,
  price: toPriceResponse(p),
  meters: p.meters,
  addon_service: { id: s.id, name: s.slug },
  compliance: null,
  installable_inside_private_network: false,
  installable_outside_private_network: true,
  space_default: false,
  visible: p.state !== 'private',
  created_at: p.createdAt.toISOString(),
  updated_at: p.updatedAt.toISOString(),
});

export const toRegionResponse = (r: Region) => {
  const [provider, providerRegion] = r.providerRegion.split('::');
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    country: r.country,
    locale: r.locale,
    private_capable: false,
    provider: { name: provider, region: providerRegion },
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  };
};

import { Account } from '@app/domain';

/** Who is calling: a developer (API key), a vendor's OAuth token for one add-on, or a vendor's manifest credentials. */
export type Principal =
  | { kind: 'account'; account: Account }
  | { kind: 'partner'; addonId: string }
  | { kind: 'vendor'; serviceId: string; slug: string };

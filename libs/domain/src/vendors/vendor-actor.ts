/** Who is managing a service: its vendor's account (API key) or the manifest's Basic credentials. */
export type VendorActor = { kind: 'account'; accountId: string } | { kind: 'service'; serviceId: string };

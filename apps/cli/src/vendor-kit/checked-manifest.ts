import { defaultConfigVarsPrefix } from '@app/domain';

export type CheckEnvironment = 'test' | 'production';

/**
 * What the conformance checks need from a manifest, read leniently so that the checks still run
 * (and fail for their own reasons) when the manifest itself does not validate.
 */
export interface CheckedManifest {
  id: string;
  password: string;
  ssoSalt: string;
  baseUrl: string | undefined;
  ssoUrl: string | undefined;
  /** Which manifest section the URLs came from. */
  endpointsFrom: 'test' | 'production' | 'none';
  prefix: string;
  configVars: string[];
  requires: string[];
  plans: string[];
  defaultPlan: string | undefined;
  timeoutMs: number | undefined;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/** `--env test` uses `api.test` and falls back to `api.production` (Attache makes `test` optional). */
export function readManifest(input: unknown, env: CheckEnvironment): CheckedManifest {
  const root = isObject(input) ? input : {};
  const api = isObject(root.api) ? root.api : {};
  const id = str(root.id) ?? '';
  const section = (name: 'test' | 'production') => (isObject(api[name]) ? (api[name] as Json) : undefined);
  const fromTest = env === 'test' ? section('test') : undefined;
  const endpoints = fromTest ?? section('production');
  const plans = Array.isArray(root.plans) ? root.plans.filter(isObject) : [];
  const defaultPlan = plans.find((p) => p.default === true) ?? plans[0];
  return {
    id,
    password: str(api.password) ?? '',
    ssoSalt: str(api.sso_salt) ?? '',
    baseUrl: str(endpoints?.base_url),
    ssoUrl: str(endpoints?.sso_url),
    endpointsFrom: fromTest ? 'test' : endpoints ? 'production' : 'none',
    prefix: str(api.config_vars_prefix) ?? defaultConfigVarsPrefix(id),
    configVars: strings(api.config_vars),
    requires: strings(api.requires),
    plans: plans.map((p) => str(p.name)).filter((n): n is string => n !== undefined),
    defaultPlan: str(defaultPlan?.name),
    timeoutMs: typeof api.timeout_ms === 'number' && api.timeout_ms > 0 ? api.timeout_ms : undefined,
  };
}

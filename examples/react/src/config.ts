/**
 * The app's settings, read at run time from `/config.json` so that one build serves every
 * environment (the full-stack script and the tests write their own).
 */
export interface AppConfig {
  /** The gateway's issuer; discovery is at `${issuer}/.well-known/openid-configuration`. */
  issuer: string;
  /** This SPA's client id at the gateway: a public client (`token_endpoint_auth_method: none`). */
  clientId: string;
  /** The API this SPA calls with the access token (the Django example's Bearer API). */
  apiUrl: string;
  /**
   * RFC 8707 resource indicator: the access token's `aud` becomes this value, which the API checks.
   * The gateway grants it only when the client is registered with it in `resources`.
   */
  resource?: string;
}

export async function loadConfig(): Promise<AppConfig> {
  const response = await fetch('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`/config.json: HTTP ${response.status}`);
  const config = (await response.json()) as Partial<AppConfig>;
  for (const key of ['issuer', 'clientId', 'apiUrl'] as const) {
    if (typeof config[key] !== 'string' || config[key] === '') throw new Error(`/config.json: "${key}" is missing`);
  }
  return config as AppConfig;
}

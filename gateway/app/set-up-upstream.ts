/**
 * The upstream the gateway signs users in at: the configured one (Google, or any OpenID
 * Provider), or in development the built-in development IdP, mounted under DEV_IDP_PATH.
 * Also what belongs to it: the users' upstream tokens (the vault) and the account lookup that
 * rechecks the upstream identity.
 */
import type { FastifyInstance } from 'fastify';
import type { FindAccount } from 'oidc-provider';
import type { Config } from '../../config/config-type.ts';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import type { IdentityPolicy } from '../upstream/check-identity.ts';
import { createDevIdp, type DevIdp } from '../dev/create-dev-idp.ts';
import type { GatewayMetrics } from '../ops/gateway-metrics.ts';
import { createFindAccount } from '../provider/find-account.ts';
import { createUpstreamClient, type UpstreamClient, type UpstreamSettings } from '../upstream/upstream-client.ts';
import { instrumentUpstream } from '../upstream/instrument-upstream.ts';
import { UPSTREAM_CALLBACK_PATH } from '../upstream/upstream-login.ts';
import { createUpstreamTokenVault, type UpstreamTokenVault } from '../upstream/upstream-tokens.ts';

/** The path under which the development IdP is mounted in dev mode. */
export const DEV_IDP_PATH = '/dev-idp';

export interface UpstreamSetup {
  settings: UpstreamSettings;
  client: UpstreamClient;
  vault: UpstreamTokenVault;
  policy: IdentityPolicy;
  findAccount: FindAccount;
  /** The development IdP, in dev mode only. */
  devIdp: DevIdp | undefined;
}

export interface UpstreamSetupDeps {
  config: Config;
  store: Store;
  sealing: Sealing;
  metrics: GatewayMetrics;
  /** The gateway's client secret at the development IdP (derived-secrets.ts). */
  devIdpClientSecret: string;
}

export function setUpUpstream(app: FastifyInstance, deps: UpstreamSetupDeps): UpstreamSetup {
  const { config, store } = deps;
  const redirectUri = `${config.issuer}${UPSTREAM_CALLBACK_PATH}`;
  let devIdp: DevIdp | undefined;
  let settings: UpstreamSettings;
  if (config.devMode) {
    const issuer = `${config.issuer}${DEV_IDP_PATH}`;
    const clientSecret = deps.devIdpClientSecret;
    devIdp = createDevIdp({
      issuer,
      mountPath: DEV_IDP_PATH,
      clients: [{ client_id: 'gateway', client_secret: clientSecret, redirect_uris: [redirectUri] }],
    });
    app.addHook('onClose', async () => devIdp?.close());
    settings = {
      issuer,
      clientId: 'gateway',
      clientSecret,
      scopes: config.upstream.scopes,
      redirectUri,
      allowHttp: true,
    };
  } else {
    settings = {
      issuer: config.upstream.issuer,
      clientId: config.upstream.clientId ?? '',
      clientSecret: config.upstream.clientSecret ?? '',
      scopes: config.upstream.scopes,
      redirectUri,
      allowHttp: false,
    };
  }
  const client = instrumentUpstream(createUpstreamClient(settings), deps.metrics);
  const vault = createUpstreamTokenVault(store, deps.sealing, client, config.ttl.refreshToken * 1000);
  const policy = { hostedDomains: config.upstream.hostedDomains, allowedEmailDomains: config.allowedEmailDomains };
  const findAccount = createFindAccount({
    store,
    vault,
    policy,
    recheckIntervalMs: config.upstream.recheckInterval * 1000,
    log: app.log,
  });
  return { settings, client, vault, policy, findAccount, devIdp };
}

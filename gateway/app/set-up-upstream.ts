/**
 * The upstreams the gateway signs users in at: those configured (GATEWAY_UPSTREAMS, or the one
 * of the UPSTREAM_* shorthand), or in development the built-in development IdP, mounted under
 * DEV_IDP_PATH. Also what belongs to them: each one's client, policy and vault of the users'
 * upstream tokens, and the account lookup that rechecks a user at their own upstream.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { FindAccount } from 'oidc-provider';
import type { Config, UpstreamConfig } from '../../config/config-type.ts';
import { SHORTHAND_CALLBACK_PATH } from '../../config/schema.ts';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import { createDevIdp, type DevIdp } from '../dev/create-dev-idp.ts';
import type { GatewayMetrics } from '../ops/gateway-metrics.ts';
import { findAccountBySub } from '../accounts/account-store.ts';
import { createFindAccount } from '../provider/find-account.ts';
import { createGitHubClient } from '../upstream/github-client.ts';
import { createGoogleDirectory, type GoogleDirectory, parseServiceAccountKey } from '../upstream/google-directory.ts';
import { createMicrosoftClient } from '../upstream/microsoft-client.ts';
import { createNaverClient } from '../upstream/naver-client.ts';
import { createUpstreamClient, type UpstreamClient, type UpstreamSettings } from '../upstream/upstream-client.ts';
import { instrumentUpstream } from '../upstream/instrument-upstream.ts';
import { createUpstreams, type Upstream, type Upstreams } from '../upstream/upstreams.ts';
import { createUpstreamTokenVault, vaultNamespace } from '../upstream/upstream-tokens.ts';

/** The path under which the development IdP is mounted in dev mode. */
export const DEV_IDP_PATH = '/dev-idp';

export interface UpstreamSetup {
  upstreams: Upstreams;
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

/** Google's Directory for an upstream's groups, with its service-account key read now (a bad one stops the start). */
function directoryOf(id: string, settings: NonNullable<UpstreamConfig['googleDirectory']>): GoogleDirectory {
  let text: string;
  try {
    text = readFileSync(settings.serviceAccountFile, 'utf8');
  } catch (error) {
    throw new Error(`upstream ${id}: service_account_file cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
  const key = parseServiceAccountKey(text);
  if (typeof key === 'string') throw new Error(`upstream ${id}: service_account_file ${key}`);
  return createGoogleDirectory({
    key,
    adminEmail: settings.adminEmail,
    directoryUrl: settings.directoryUrl,
    nested: settings.nested,
  });
}

/** How the gateway speaks to an upstream of this type. */
function clientFor(upstream: UpstreamConfig, settings: UpstreamSettings): UpstreamClient {
  switch (upstream.type) {
    case 'github':
      return createGitHubClient({
        ...settings,
        baseUrl: upstream.issuer,
        withOrgs: upstream.allowedOrgs !== undefined,
        withGroups: upstream.apiGroups === true,
      });
    case 'microsoft':
      return createMicrosoftClient({
        ...settings,
        tenant: upstream.tenant ?? 'organizations',
        graphUrl: upstream.apiUrl ?? 'https://graph.microsoft.com',
        withGroups: upstream.apiGroups === true,
      });
    case 'naver':
      return createNaverClient({ ...settings, apiUrl: upstream.apiUrl ?? 'https://openapi.naver.com' });
    default:
      // Google, GitLab, Kakao and any other OpenID Provider: discovery says the rest.
      return createUpstreamClient(settings);
  }
}

export function setUpUpstream(app: FastifyInstance, deps: UpstreamSetupDeps): UpstreamSetup {
  const { config, store } = deps;
  let devIdp: DevIdp | undefined;
  let configured: readonly UpstreamConfig[] = config.upstreams;
  if (config.devMode) {
    const issuer = `${config.issuer}${DEV_IDP_PATH}`;
    const dev: UpstreamConfig = {
      id: 'dev',
      type: 'dev',
      name: 'Development IdP',
      issuer,
      clientId: 'gateway',
      clientSecret: deps.devIdpClientSecret,
      scopes: config.upstream.scopes,
      hostedDomains: [],
      allowedEmailDomains: [],
      callbackPath: SHORTHAND_CALLBACK_PATH,
    };
    devIdp = createDevIdp({
      issuer,
      mountPath: DEV_IDP_PATH,
      clients: [
        {
          client_id: dev.clientId,
          client_secret: dev.clientSecret,
          redirect_uris: [`${config.issuer}${dev.callbackPath}`],
        },
      ],
    });
    app.addHook('onClose', async () => devIdp?.close());
    configured = [dev];
  }
  // Tokens stored before they were kept per upstream belong to the account's own upstream
  // (bound once `upstreams` exists: each vault asks about the list it is part of).
  let all: Upstreams | undefined;
  const ownerOfLegacyTokens = async (sub: string) => {
    const account = await findAccountBySub(store, sub);
    return account === undefined ? undefined : all?.ofAccount(account)?.config.id;
  };
  const upstreams = createUpstreams(
    configured.map((upstream): Upstream => {
      const settings = {
        issuer: upstream.issuer,
        clientId: upstream.clientId,
        clientSecret: upstream.clientSecret,
        scopes: upstream.scopes,
        redirectUri: `${config.issuer}${upstream.callbackPath}`,
        allowHttp: upstream.type === 'dev',
      };
      const client = instrumentUpstream(clientFor(upstream, settings), deps.metrics);
      return {
        config: upstream,
        client,
        ...(upstream.googleDirectory ? { groupSource: directoryOf(upstream.id, upstream.googleDirectory) } : {}),
        vault: createUpstreamTokenVault(store, deps.sealing, client, {
          namespace: vaultNamespace(upstream.issuer, upstream.clientId),
          ttlMs: config.ttl.refreshToken * 1000,
          ownsLegacyTokens: async (sub) => (await ownerOfLegacyTokens(sub)) === upstream.id,
        }),
        policy: {
          hostedDomains: upstream.hostedDomains,
          allowedEmailDomains: config.allowedEmailDomains,
          upstreamEmailDomains: upstream.allowedEmailDomains,
          ...(upstream.allowedTenants ? { allowedTenants: upstream.allowedTenants } : {}),
          ...(upstream.allowedOrgs ? { allowedOrgs: upstream.allowedOrgs } : {}),
          ...(upstream.allowedGroups ? { allowedGroups: upstream.allowedGroups } : {}),
        },
      };
    }),
  );
  all = upstreams;
  const findAccount = createFindAccount({
    store,
    upstreams,
    recheckIntervalMs: config.upstream.recheckInterval * 1000,
    staticGroups: config.groups,
    log: app.log,
  });
  return { upstreams, findAccount, devIdp };
}

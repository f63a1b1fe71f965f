import { z } from 'zod';
import type { Config, UpstreamConfig } from './config-type.ts';
import { optionalSetting, setting, settingsRegistry, type SettingMeta } from './setting.ts';
import { checkProduction, MIN_SECRET_BITS } from './check-production.ts';
import { parseOutboundHosts } from './outbound-host.ts';
import { DEFAULT_RESERVED_USERNAMES, parseUsernames } from './reserved-usernames.ts';
import { parseGatewayIssuer, parseOtlpEndpoint, parseStoreUrl, parseUpstreamIssuer } from './url-parsers.ts';
import { type HostRule, parseGroups, parseHostRules, parseRulesFile } from './forward-auth-parsers.ts';
import { parseUpstreams } from './upstreams-parser.ts';
import {
  parseAddressRanges,
  parseDomains,
  parseInteger,
  parseLifetime,
  parseLogLevel,
  parseLongSecret,
  parseApiScopes,
  parseGivenSecret,
  parseList,
  parseScopes,
  parseSeconds,
  parseSecrets,
  parseSwitch,
  parseText,
} from './value-parsers.ts';

/** The callback of the UPSTREAM_* shorthand's upstream, as it always was. */
export const SHORTHAND_CALLBACK_PATH = '/upstream/callback';

/** The issuer outside production: the gateway on this machine, as `npm start` serves it. */
const DEFAULT_ISSUER = 'http://localhost:4000';

/**
 * Every setting the gateway reads, keyed by its environment variable (the config file uses the
 * same names). Each carries its description and default, so docs/SETTINGS.md is rendered from here.
 */
export const settingsShape = {
  GATEWAY_CONFIG: optionalSetting(
    {
      description:
        'path of a JSON or YAML file holding more of these settings, by the same names; the environment wins over it',
      defaultText: 'none',
      envOnly: true,
    },
    parseText,
  ),
  GATEWAY_ISSUER: optionalSetting(
    {
      description:
        'public base URL of the gateway; the OIDC `iss`. An absolute http(s) URL without query or fragment; a trailing slash is dropped. With `NODE_ENV=production` it is required and must be `https://` (`http://` only on a loopback host)',
      defaultText: `\`${DEFAULT_ISSUER}\` (required when \`NODE_ENV=production\`)`,
    },
    parseGatewayIssuer,
  ),
  GATEWAY_HOST: setting({ description: 'address it listens on', default: '127.0.0.1' }, parseText),
  GATEWAY_PORT: setting(
    { description: 'port it listens on', default: '4000' },
    parseInteger(1, 65535, 'must be an integer between 1 and 65535'),
  ),
  GATEWAY_STORE: setting(
    {
      description:
        'where state is kept: `memory://` (lost on restart), `sqlite://PATH` (embedded, survives a restart), `redis://[user:pass@]host:port[/db]` or `rediss://…` (TLS), or a Redis Cluster: `redis+cluster://[user:pass@]host:port,host:port` (`rediss+cluster://` for TLS; any nodes, the client finds the rest)',
      default: 'sqlite://./data/gateway.sqlite',
    },
    parseStoreUrl,
  ),
  GATEWAY_SECRETS: optionalSetting(
    {
      description: `comma-separated secrets for cookies, each at least 32 characters; the first signs, all verify (rotation). With \`NODE_ENV=production\` each must look random: at least ${MIN_SECRET_BITS} bits estimated as its length times the Shannon entropy of its characters (\`openssl rand -base64 32\` passes; 32 identical characters do not)`,
      defaultText: 'generated and kept in the store in dev mode; required when `NODE_ENV=production`',
      secret: true,
    },
    parseSecrets,
  ),
  UPSTREAM_ISSUER: setting(
    {
      description:
        "the upstream IdP's issuer, found by OIDC discovery. Must be `https://`, except on a loopback host (127.0.0.0/8, ::1, localhost)",
      default: 'https://accounts.google.com',
    },
    parseUpstreamIssuer,
  ),
  UPSTREAM_CLIENT_ID: optionalSetting(
    {
      description:
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the text shows the placeholder to a reader
        "the gateway's own client at the upstream; give it together with `UPSTREAM_CLIENT_SECRET`. Register `${GATEWAY_ISSUER}/upstream/callback` as its redirect URI",
      defaultText: 'none: then the development IdP is used (refused when `NODE_ENV=production`)',
    },
    parseText,
  ),
  UPSTREAM_CLIENT_SECRET: optionalSetting(
    {
      description: 'the secret of that client; give it together with `UPSTREAM_CLIENT_ID`',
      defaultText: 'none',
      secret: true,
    },
    parseGivenSecret,
  ),
  UPSTREAM_SCOPES: setting(
    {
      description: 'scopes asked of the upstream, space- or comma-separated; must include `openid`',
      default: 'openid email profile',
    },
    parseScopes,
  ),
  UPSTREAM_HOSTED_DOMAIN: optionalSetting(
    { description: 'Google Workspace domain(s) allowed (the `hd` claim), comma-separated', defaultText: 'any' },
    parseDomains('plain'),
  ),
  GATEWAY_UPSTREAMS: optionalSetting(
    {
      description:
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the text shows the placeholder to a reader
        'several upstreams at once, chosen on the sign-in page (or with `upstream=<id>` on `/auth` and `/oauth2/start`): a JSON or YAML list of `{"id", "type", "name"?, "client_id", "client_secret", "scopes"?, "allowed_email_domains"?, …}`. `id` is a slug of yours; `type` is `google` (`hosted_domains`), `oidc` (any OpenID Provider by `issuer`, found by discovery), `microsoft` (Entra ID: `tenant` = a tenant id, or `organizations`/`common` with `allowed_tenants`, or `consumers`; `base_url` and `graph_url` for national clouds), `github` (`allowed_orgs`; `base_url` for an Enterprise Server), `gitlab` (`issuer` for a self-managed instance; `allowed_groups`), `kakao` or `naver`; `groups_claim` (GitLab: `groups` by default) and `groups: true` on a GitHub upstream (organizations and teams), a Microsoft one (group object ids from Graph) or a Google one (Workspace groups from the Directory API, with `service_account_file` and `admin_email`; `nested_groups: true` adds the groups of those groups) release the groups of a user to apps as `<id>:<group>`; register `${GATEWAY_ISSUER}/upstream/<id>/callback` at each (`npx gateway config check` prints them). Instead of the `UPSTREAM_*` settings, which stay the shorthand for one upstream',
      defaultText: 'none: the one upstream of the `UPSTREAM_*` settings',
      // It holds each upstream's client secret: never echoed in a problem line.
      secret: true,
    },
    parseUpstreams,
  ),
  GATEWAY_UPSTREAM_RECHECK_INTERVAL: setting(
    {
      description:
        "seconds: how often, at most, an app's refresh re-checks the user's account at the upstream (as Dex does); 0 checks on every refresh",
      default: '300',
    },
    parseSeconds,
  ),
  GATEWAY_ALLOWED_EMAIL_DOMAINS: optionalSetting(
    { description: 'e-mail domains allowed to sign in, comma-separated (compared lower-cased)', defaultText: 'any' },
    parseDomains('plain'),
  ),
  GATEWAY_REGISTRATION_TOKEN: optionalSetting(
    {
      description:
        'enables RFC 7591 dynamic client registration, protected by this initial access token (at least 32 characters)',
      defaultText: 'off',
      secret: true,
    },
    parseLongSecret,
  ),
  GATEWAY_CLIENTS_FILE: optionalSetting(
    { description: 'JSON or YAML list of statically registered clients', defaultText: 'none' },
    parseText,
  ),
  GATEWAY_SECRET_ROTATION_GRACE: setting(
    {
      description:
        "seconds during which a client's old secret keeps working after `npx gateway clients rotate-secret` (or a new secret in `GATEWAY_CLIENTS_FILE`), so that apps can be redeployed with the new one; 0 ends the old secret at once",
      default: '86400',
    },
    parseSeconds,
  ),
  GATEWAY_COOKIE_DOMAINS: optionalSetting(
    {
      description: 'cookie domains for forward auth, comma-separated (e.g. `.example.com`)',
      defaultText: "the request's host",
    },
    parseDomains('cookie'),
  ),
  GATEWAY_REDIRECT_DOMAINS: optionalSetting(
    {
      description:
        'hosts that `rd` may send a browser back to, comma-separated (`.example.com` matches subdomains, on the default port; name another as `.example.com:8443`)',
      defaultText: 'the cookie domains',
    },
    parseDomains('redirect'),
  ),
  GATEWAY_OUTBOUND_PRIVATE_HOSTS: optionalSetting(
    {
      description:
        "services the gateway may call although they are loopback or private (back-channel logout, a client's `jwks_uri`), comma-separated, each as `host:port` (`127.0.0.1:8000`, `app.internal:8443`, `[::1]:9000`; no wildcard); clients may register such URIs only when listed here. Every other private address is refused (SSRF protection), and no outbound call follows a redirect",
      defaultText: 'none',
    },
    parseOutboundHosts,
  ),
  GATEWAY_API_PATHS: optionalSetting(
    {
      description:
        'path prefixes of API routes, comma-separated: a caller not signed in gets a JSON 401 there instead of a sign-in page (as with `Accept: application/json`)',
      defaultText: 'none',
    },
    parseList,
  ),
  GATEWAY_API_SCOPES: optionalSetting(
    {
      description:
        'scopes of your own APIs (`reports:read,reports:write`), comma-separated: clients may be registered with them (`scope`), and a machine client (client credentials) gets in its tokens those of its registered ones it asks for',
      defaultText: 'none',
    },
    parseApiScopes,
  ),
  GATEWAY_HOST_RULES: optionalSetting(
    {
      description:
        'who may pass forward auth per host and path: JSON list of `{"host", "path"?, "methods"?, "allow"?, "trusted_networks"?, "allowed_emails"?, "allowed_email_domains"?, "allowed_groups"?, "allowed_upstreams"?, "allowed_clients"?}` (`host` may be `.example.com`; `path` a prefix such as `/flower`; the longest path, then the most specific host, decides: docs/ACCESS-RULES.md); a user must match one of the e-mails, domains or groups given, and have signed in through one of `allowed_upstreams` when given; `allow: "public"` needs no sign-in, `trusted_networks` (CIDR) none from those addresses, `api: true` answers a JSON 401 rather than a sign-in redirect, `allowed_clients` admits machine clients (client credentials) by client_id; 403 when not met',
      defaultText: 'none: every signed-in user',
    },
    parseHostRules,
  ),
  GATEWAY_RULES_FILE: optionalSetting(
    {
      description:
        'a YAML or JSON file holding the forward-auth rules instead of `GATEWAY_HOST_RULES`: `rules:` followed by the same list (docs/ACCESS-RULES.md); read at start, and every problem in it is reported on a line of its own',
      defaultText: 'none',
    },
    parseRulesFile,
  ),
  GATEWAY_GROUPS: optionalSetting(
    {
      description:
        'groups, as JSON `{"group": ["e-mail", …]}`: sent in `X-Auth-Request-Groups` and the `groups` claim, and usable in `GATEWAY_HOST_RULES`',
      defaultText: 'none',
    },
    parseGroups,
  ),
  GATEWAY_ACCESS_TOKEN_TTL: setting(
    { description: 'lifetime of access tokens, in seconds', default: '300' },
    parseLifetime,
  ),
  GATEWAY_REFRESH_TOKEN_TTL: setting(
    { description: 'lifetime of refresh tokens, in seconds', default: '1209600' },
    parseLifetime,
  ),
  GATEWAY_SESSION_TTL: setting(
    { description: 'lifetime of the sign-in session, in seconds', default: '1209600' },
    parseLifetime,
  ),
  GATEWAY_REFRESH_GRACE: setting(
    {
      description:
        'seconds during which a just-rotated refresh token, presented again (parallel tabs, a retried request), gets the same answer instead of revoking the grant; a reuse after it revokes the whole grant; 0 turns the grace off',
      default: '5',
    },
    parseSeconds,
  ),
  GATEWAY_KEY_ROTATION_INTERVAL: setting(
    {
      description:
        'seconds between scheduled rotations of the signing keys (e.g. `7776000` for 90 days); 0 turns scheduled rotation off (`npx gateway keys rotate` still works)',
      default: '0',
    },
    parseSeconds,
  ),
  GATEWAY_KEY_ROLL_IN: setting(
    {
      description:
        'seconds between publishing a new signing key in the JWKS and signing with it, so that apps caching the JWKS know it first',
      default: '600',
    },
    parseSeconds,
  ),
  GATEWAY_CLIENT_FAILURE_LIMIT: setting(
    {
      description:
        'failed client authentications and invalid authorization codes allowed per client and client address within `GATEWAY_FAILURE_WINDOW`; past it that client is refused from that address (429 `temporarily_unavailable`) until the window ends. Successful requests are never counted. 0 turns it off',
      default: '20',
    },
    parseInteger(0, 1_000_000, 'must be a whole number of failures, 0 or more'),
  ),
  GATEWAY_ADDRESS_FAILURE_LIMIT: setting(
    {
      description:
        'failures of every kind allowed per client address within `GATEWAY_FAILURE_WINDOW` (failed client authentications, invalid codes, a bad `state` at a sign-in callback, refused registrations); past it the address is refused (429) until the window ends. IPv6 addresses count by /64. 0 turns it off',
      default: '200',
    },
    parseInteger(0, 1_000_000, 'must be a whole number of failures, 0 or more'),
  ),
  GATEWAY_FAILURE_WINDOW: setting(
    {
      description:
        'seconds over which failures are counted (a fixed window, shared by every instance through the store)',
      default: '300',
    },
    parseLifetime,
  ),
  GATEWAY_REGISTRATION_LIMIT: setting(
    {
      description:
        'clients one address may register (RFC 7591) per hour, when dynamic registration is on; each keeps at most 16 KiB of metadata until it is removed. 0 turns the limit off',
      default: '60',
    },
    parseInteger(0, 1_000_000, 'must be a whole number of registrations per hour, 0 or more'),
  ),
  GATEWAY_SIGN_IN_LIMIT: setting(
    {
      description:
        'sign-in steps that write to the store allowed per client address per minute: an authorization request that starts a sign-in, and each visit of its sign-in page (a sign-in takes 2, 3 when Google is asked for consent again). Each keeps at most about 3.5 KiB for at most 10 minutes, so one address can add at most about 4 MiB a minute at the default. An office of 2,000 people behind one address signing in within ten minutes stays well under it. 0 turns it off',
      default: '1200',
    },
    parseInteger(0, 1_000_000, 'must be a whole number of sign-in steps per minute, 0 or more'),
  ),
  GATEWAY_SHUTDOWN_TIMEOUT: setting(
    {
      description:
        "seconds that a SIGTERM waits for requests in flight to finish before the process exits anyway (keep it under the orchestrator's own grace: Docker waits 10 s, Kubernetes 30 s)",
      default: '8',
    },
    parseSeconds,
  ),
  GATEWAY_TRUSTED_PROXIES: setting(
    {
      description:
        'comma-separated IP addresses or CIDR ranges whose `X-Forwarded-*` headers are believed. With `NODE_ENV=production` no range may be wider than /8 (IPv4, and IPv4-mapped IPv6) or /7 (IPv6)',
      default: '127.0.0.1,::1',
    },
    parseAddressRanges,
  ),
  GATEWAY_RESERVED_USERNAMES: setting(
    {
      description:
        'user names never handed out as they are (`preferred_username`): a user whose e-mail or name would give one gets it with a suffix (`admin-3f9a2c`). Comma-separated, compared lower-cased; setting it replaces this list, so repeat the defaults you want to keep',
      default: DEFAULT_RESERVED_USERNAMES.join(','),
    },
    parseUsernames,
  ),
  GATEWAY_LOG_LEVEL: setting(
    { description: 'log level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`', default: 'info' },
    parseLogLevel,
  ),
  GATEWAY_ACCESS_LOG: setting(
    {
      description:
        '`on` writes one compact JSON line per request (`"msg":"access"`: method, path without the query, status, milliseconds, client address as the trusted proxies report it) to stdout, asynchronously; `off` writes none, so the check nginx makes on every request costs no log write (nginx keeps its own access log)',
      default: 'off',
    },
    parseSwitch,
  ),
  GATEWAY_OTLP_ENDPOINT: optionalSetting(
    {
      description:
        'where to send OpenTelemetry traces (OTLP/HTTP, JSON), e.g. `http://collector:4318/v1/traces`: a span per request (but the forward-auth check and the probes), with child spans for each upstream call, group lookup, store call and forward-auth refresh; log lines inside a span carry its `trace_id`',
      defaultText: 'none: no tracing, and nothing of it loaded',
    },
    parseOtlpEndpoint,
  ),
  NODE_ENV: optionalSetting(
    {
      description:
        '`production` turns on the production checks: `GATEWAY_ISSUER` (https), `GATEWAY_SECRETS` (random-looking) and the upstream client become required, and `GATEWAY_TRUSTED_PROXIES` may hold no huge range',
      defaultText: 'none',
      envOnly: true,
    },
    parseText,
  ),
};

/** The name of a setting. */
export type SettingName = keyof typeof settingsShape;

type Settings = z.output<z.ZodObject<typeof settingsShape>>;

/**
 * The whole configuration: the settings, the rules that tie them together, and the mapping to
 * `Config`. Unknown keys are refused (a typo must not silently fall back to a default).
 */
export const configSchema = z
  .strictObject(settingsShape)
  // `when` lets these rules run even when single settings failed, so every problem shows at once.
  .superRefine(checkCombinations, { when: () => true })
  .transform(toConfig);

/** Rules across settings. Only presence is tested: a given but invalid value has its own problem. */
function checkCombinations(settings: Partial<Record<SettingName, unknown>>, ctx: z.RefinementCtx): void {
  const given = (name: SettingName) => settings[name] !== undefined;
  const problem = (name: SettingName, message: string) => ctx.addIssue({ code: 'custom', path: [name], message });
  const hasId = given('UPSTREAM_CLIENT_ID');
  const hasSecret = given('UPSTREAM_CLIENT_SECRET');
  if (hasId && !hasSecret)
    problem('UPSTREAM_CLIENT_SECRET', 'required when UPSTREAM_CLIENT_ID is set (give both or neither)');
  if (hasSecret && !hasId)
    problem('UPSTREAM_CLIENT_ID', 'required when UPSTREAM_CLIENT_SECRET is set (give both or neither)');
  if (given('GATEWAY_UPSTREAMS')) {
    // The shorthand's settings would be ignored beside the list: refused, so nobody relies on them.
    for (const name of ['UPSTREAM_CLIENT_ID', 'UPSTREAM_CLIENT_SECRET'] as const)
      if (given(name)) problem(name, 'not with GATEWAY_UPSTREAMS: give each upstream its own client there');
    if (given('UPSTREAM_HOSTED_DOMAIN'))
      problem('UPSTREAM_HOSTED_DOMAIN', 'not with GATEWAY_UPSTREAMS: give a google upstream its hosted_domains there');
  }
  checkHostRuleUpstreams(settings, problem);
  if (settings.NODE_ENV === 'production') checkProduction(settings, problem);
}

/** A host rule's `allowed_upstreams` must name configured upstreams: a typo would shut everyone out. */
function checkHostRuleUpstreams(
  settings: Partial<Record<SettingName, unknown>>,
  problem: (name: SettingName, message: string) => void,
): void {
  if (settings.GATEWAY_HOST_RULES !== undefined && settings.GATEWAY_RULES_FILE !== undefined)
    problem('GATEWAY_RULES_FILE', 'not with GATEWAY_HOST_RULES: keep the rules in one place');
  const file = settings.GATEWAY_RULES_FILE as { rules: HostRule[] } | undefined;
  const source = file === undefined ? 'GATEWAY_HOST_RULES' : 'GATEWAY_RULES_FILE';
  const rules = file === undefined ? settings.GATEWAY_HOST_RULES : file.rules;
  if (!Array.isArray(rules)) return;
  const listed = settings.GATEWAY_UPSTREAMS;
  const issuer =
    typeof settings.UPSTREAM_ISSUER === 'string' ? settings.UPSTREAM_ISSUER : 'https://accounts.google.com';
  const known = Array.isArray(listed)
    ? listed.map((upstream: { id: string }) => upstream.id)
    : settings.UPSTREAM_CLIENT_ID === undefined
      ? ['dev']
      : [new URL(issuer).hostname === 'accounts.google.com' ? 'google' : 'oidc'];
  for (const [index, rule] of (rules as HostRule[]).entries()) {
    const unknown = (rule.allowed_upstreams ?? []).filter((id) => !known.includes(id));
    if (unknown.length > 0)
      problem(
        source,
        `rule ${index + 1} (${rule.host}): allowed_upstreams names no configured upstream: ${unknown.join(', ')} (configured: ${known.join(', ')})`,
      );
  }
}

function toConfig(s: Settings): Config {
  const cookieDomains = s.GATEWAY_COOKIE_DOMAINS ?? [];
  const redirectDomains = s.GATEWAY_REDIRECT_DOMAINS ?? cookieDomains;
  return {
    issuer: s.GATEWAY_ISSUER ?? DEFAULT_ISSUER,
    host: s.GATEWAY_HOST,
    port: s.GATEWAY_PORT,
    store: s.GATEWAY_STORE,
    secrets: s.GATEWAY_SECRETS ?? [],
    upstream: {
      issuer: s.UPSTREAM_ISSUER,
      clientId: s.UPSTREAM_CLIENT_ID,
      clientSecret: s.UPSTREAM_CLIENT_SECRET,
      scopes: s.UPSTREAM_SCOPES,
      hostedDomains: s.UPSTREAM_HOSTED_DOMAIN ?? [],
      recheckInterval: s.GATEWAY_UPSTREAM_RECHECK_INTERVAL,
    },
    upstreams: s.GATEWAY_UPSTREAMS ?? shorthandUpstream(s),
    devMode: s.UPSTREAM_CLIENT_ID === undefined && s.GATEWAY_UPSTREAMS === undefined,
    production: s.NODE_ENV === 'production',
    allowedEmailDomains: s.GATEWAY_ALLOWED_EMAIL_DOMAINS ?? [],
    registrationToken: s.GATEWAY_REGISTRATION_TOKEN,
    clientsFile: s.GATEWAY_CLIENTS_FILE,
    secretRotationGrace: s.GATEWAY_SECRET_ROTATION_GRACE,
    cookieDomains,
    redirectDomains,
    forwardAuthHosts: [...redirectDomains, ...cookieDomains.map((d) => (d.startsWith('.') ? d : `.${d}`))],
    outboundPrivateHosts: s.GATEWAY_OUTBOUND_PRIVATE_HOSTS ?? [],
    reservedUsernames: s.GATEWAY_RESERVED_USERNAMES,
    apiPaths: s.GATEWAY_API_PATHS ?? [],
    apiScopes: s.GATEWAY_API_SCOPES ?? [],
    hostRules: s.GATEWAY_HOST_RULES ?? s.GATEWAY_RULES_FILE?.rules ?? [],
    hostRulesSource: s.GATEWAY_RULES_FILE?.file ?? 'GATEWAY_HOST_RULES',
    groups: s.GATEWAY_GROUPS ?? {},
    ttl: {
      accessToken: s.GATEWAY_ACCESS_TOKEN_TTL,
      refreshToken: s.GATEWAY_REFRESH_TOKEN_TTL,
      session: s.GATEWAY_SESSION_TTL,
    },
    refreshGrace: s.GATEWAY_REFRESH_GRACE,
    keyRollIn: s.GATEWAY_KEY_ROLL_IN,
    keyRotationInterval: s.GATEWAY_KEY_ROTATION_INTERVAL,
    regulation: {
      clientFailures: s.GATEWAY_CLIENT_FAILURE_LIMIT,
      addressFailures: s.GATEWAY_ADDRESS_FAILURE_LIMIT,
      failureWindow: s.GATEWAY_FAILURE_WINDOW,
      signInSteps: s.GATEWAY_SIGN_IN_LIMIT,
      registrations: s.GATEWAY_REGISTRATION_LIMIT,
    },
    shutdownTimeout: s.GATEWAY_SHUTDOWN_TIMEOUT,
    trustedProxies: s.GATEWAY_TRUSTED_PROXIES,
    logLevel: s.GATEWAY_LOG_LEVEL,
    accessLog: s.GATEWAY_ACCESS_LOG,
    otlpEndpoint: s.GATEWAY_OTLP_ENDPOINT,
  };
}

/**
 * The one upstream of the UPSTREAM_* settings: `google` at Google's issuer, else `oidc`, with the
 * callback it always had. None without a client (dev mode).
 */
function shorthandUpstream(s: Settings): UpstreamConfig[] {
  if (s.UPSTREAM_CLIENT_ID === undefined) return [];
  const google = new URL(s.UPSTREAM_ISSUER).hostname === 'accounts.google.com';
  return [
    {
      id: google ? 'google' : 'oidc',
      type: google ? 'google' : 'oidc',
      name: google ? 'Google' : new URL(s.UPSTREAM_ISSUER).hostname,
      issuer: s.UPSTREAM_ISSUER,
      clientId: s.UPSTREAM_CLIENT_ID,
      clientSecret: s.UPSTREAM_CLIENT_SECRET ?? '',
      scopes: s.UPSTREAM_SCOPES,
      hostedDomains: s.UPSTREAM_HOSTED_DOMAIN ?? [],
      allowedEmailDomains: [],
      callbackPath: SHORTHAND_CALLBACK_PATH,
    },
  ];
}

/** True when `key` names a setting. */
export function isSettingName(key: string): key is SettingName {
  return Object.hasOwn(settingsShape, key);
}

/** The description, default and flags of one setting. */
export function settingMeta(name: SettingName): SettingMeta {
  const meta = settingsRegistry.get(settingsShape[name]);
  if (meta === undefined) throw new Error(`setting ${name} has no metadata`);
  return meta;
}

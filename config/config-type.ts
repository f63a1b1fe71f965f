import type { HostRule } from './forward-auth-parsers.ts';
import type { LogLevel } from './log-levels.ts';

/** One identity provider users sign in at (GATEWAY_UPSTREAMS, or the UPSTREAM_* shorthand). */
export interface UpstreamConfig {
  /** The operator's slug: the callback path, `upstream=<id>` and logs. */
  id: string;
  /** What kind of provider it is; `dev` is the embedded development IdP. */
  type: 'google' | 'oidc' | 'microsoft' | 'gitlab' | 'kakao' | 'github' | 'naver' | 'dev';
  /** Shown on the sign-in page. */
  name: string;
  /**
   * The OpenID issuer; for GitHub and Naver, their web origin; for Microsoft, the authority
   * (https://login.microsoftonline.com, or a national cloud's), the tenant being apart.
   */
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: readonly string[];
  /** Google Workspace domains (`hd`) allowed; [] = any. */
  hostedDomains: readonly string[];
  /** Lower-cased e-mail domains allowed through this upstream (and GATEWAY_ALLOWED_EMAIL_DOMAINS); [] = any. */
  allowedEmailDomains: readonly string[];
  /** The path of its redirect URI under GATEWAY_ISSUER. */
  callbackPath: string;
  /** Microsoft: the tenant in the endpoints' paths (a GUID, organizations, common or consumers). */
  tenant?: string;
  /** Microsoft: the tenants (GUIDs) whose users may sign in. */
  allowedTenants?: readonly string[];
  /** GitHub: organizations (lower-cased logins) of which a user must be a member; absent = any. */
  allowedOrgs?: readonly string[];
  /** GitLab: groups (lower-cased full paths) of which a user must be a member; absent = any. */
  allowedGroups?: readonly string[];
  /**
   * The claim (userinfo, else ID token) holding the user's groups at this upstream, released to
   * apps as `<id>:<group>`; GitLab's `groups` by default. Absent: none taken.
   */
  groupsClaim?: string;
  /**
   * Groups from the provider's API: GitHub's organizations and teams (`<id>:<org>`,
   * `<id>:<org>:<team>`), Microsoft Graph's group object ids (`<id>:<object id>`).
   */
  apiGroups?: boolean;
  /** Google: groups from the Directory API, read by this service account acting as this admin. */
  googleDirectory?: {
    serviceAccountFile: string;
    adminEmail: string;
    directoryUrl: string;
    /** Also the groups those groups are members of, and so on (`nested_groups`). */
    nested: boolean;
  };
  /** The API beside the sign-in endpoints: Microsoft Graph, Naver's Open API. */
  apiUrl?: string;
}

/**
 * The gateway's settings after validation. Built only by `loadConfig` (the one reader of
 * `process.env`) and handed to every other module deep-frozen. Times are in seconds.
 */
export interface Config {
  /** Public base URL of the gateway and the OIDC `iss`, without a trailing slash. */
  issuer: string;
  host: string;
  port: number;
  /** Store URL as given: `memory://`, `sqlite://PATH`, `redis://…` or `rediss://…`. */
  store: string;
  /** Cookie secrets, the first signs and all verify; [] when not given (dev mode keeps one in the store). */
  secrets: readonly string[];
  upstream: {
    issuer: string;
    clientId: string | undefined;
    clientSecret: string | undefined;
    scopes: readonly string[];
    /** Google Workspace domains (`hd`) allowed; [] = any. */
    hostedDomains: readonly string[];
    /** How often, at most, a refresh re-checks the user's upstream account. */
    recheckInterval: number;
  };
  /**
   * The upstreams users sign in at, in the order the sign-in page lists them: those of
   * GATEWAY_UPSTREAMS, or the one of the UPSTREAM_* shorthand; [] in dev mode (the development IdP).
   */
  upstreams: readonly UpstreamConfig[];
  /** True when no upstream client is configured: the embedded development IdP is used. */
  devMode: boolean;
  /** NODE_ENV === 'production'. */
  production: boolean;
  /** Lower-cased e-mail domains allowed to sign in; [] = any. */
  allowedEmailDomains: readonly string[];
  /** Initial access token for RFC 7591 dynamic registration; undefined = registration off. */
  registrationToken: string | undefined;
  clientsFile: string | undefined;
  /** Seconds a client's previous secret keeps working after a rotation; 0 = none. */
  secretRotationGrace: number;
  /** Cookie domains for forward auth; [] = the request's host. */
  cookieDomains: readonly string[];
  /** Hosts `rd` may point at (`.example.com` matches subdomains); defaults to the cookie domains. */
  redirectDomains: readonly string[];
  /**
   * Hosts forward auth serves and may redirect to: the redirect domains, and every cookie domain
   * with its subdomains (a cookie set for `example.com` is sent to `app.example.com` too).
   */
  forwardAuthHosts: readonly string[];
  /** Private or loopback services (`host:port`) the gateway may call anyway (outside SSRF protection). */
  outboundPrivateHosts: readonly string[];
  /** Lower-case user names never handed out as they are (a suffix is added). */
  reservedUsernames: readonly string[];
  /** Path prefixes answered with a JSON 401 instead of a sign-in page. */
  apiPaths: readonly string[];
  /** Scopes of the operator's APIs (GATEWAY_API_SCOPES), beside the gateway's own. */
  apiScopes: readonly string[];
  /** Forward-auth rules per host. */
  hostRules: readonly HostRule[];
  /** Where they come from: `GATEWAY_HOST_RULES`, or the path of GATEWAY_RULES_FILE. */
  hostRulesSource: string;
  /** Group name → member e-mail addresses. */
  groups: Readonly<Record<string, readonly string[]>>;
  ttl: { accessToken: number; refreshToken: number; session: number };
  /** Seconds a just-rotated refresh token may be presented again; 0 = no grace. */
  refreshGrace: number;
  /** Seconds between publishing a new signing key and signing with it. */
  keyRollIn: number;
  /** Seconds between scheduled key rotations; 0 = off. */
  keyRotationInterval: number;
  /** Failure-based limits (gateway/ops/regulation.ts); 0 turns one off. */
  regulation: {
    /** Failed client authentications and invalid codes per client and address per window. */
    clientFailures: number;
    /** Failures of every kind per address per window. */
    addressFailures: number;
    /** Seconds of the failure window. */
    failureWindow: number;
    /** Sign-in steps that write to the store per address per minute. */
    signInSteps: number;
    /** Dynamic registrations per address per hour. */
    registrations: number;
  };
  /** Seconds a SIGTERM waits for requests in flight before exiting anyway. */
  shutdownTimeout: number;
  /** IPs and CIDR ranges whose X-Forwarded-* headers are believed. */
  trustedProxies: readonly string[];
  logLevel: LogLevel;
  /** One line per request to stdout (off by default: the hot path writes no log line). */
  accessLog: boolean;
  /** Where traces go (OTLP/HTTP); undefined: no tracing. */
  otlpEndpoint: string | undefined;
}

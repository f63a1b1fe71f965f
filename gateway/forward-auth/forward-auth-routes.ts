/**
 * Forward auth for nginx `auth_request` (and Caddy/Traefik forward auth), with oauth2-proxy's
 * paths and semantics so that existing nginx snippets keep working. This plugin builds what the
 * routes share once and registers them; each lives in its own file:
 *
 * - `GET /oauth2/auth`, the hot path: check-route.ts (who: forward-auth-identity.ts, with
 *   verify-cache.ts and session-refresh.ts; which hosts: served-hosts.ts).
 * - `GET /oauth2/sign_in`, where nginx sends a 401: sign-in-page-route.ts.
 * - `GET /oauth2/start?rd=`, `/oauth2/callback`: sign-in-flow.ts.
 * - `GET|POST /oauth2/sign_out?rd=`: sign-out-route.ts.
 * - `GET /oauth2/userinfo`: userinfo-route.ts.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type * as client from 'openid-client';
import type { Config } from '../../config/config-type.ts';
import type { Store } from '../../adapters/store.ts';
import type { AccessTokenVerifier } from '../keys/access-token-verifier.ts';
import type { CsrfGuard } from '../web/csrf.ts';
import { forwardAuthCookies } from './forward-auth-cookie.ts';
import { createIdentityResolver } from './forward-auth-identity.ts';
import { forwardAuthSite } from './forward-auth-site.ts';
import type { ForwardAuthSessions } from '../sessions/forward-auth-sessions.ts';
import type { HostPolicy } from '../accounts/host-policy.ts';
import type { HostTokenMinter } from './host-token-minter.ts';
import type { CheckReplay } from './check-replay.ts';
import { checkRoute } from './check-route.ts';
import { createServedHosts } from './served-hosts.ts';
import { signInFlowRoutes } from './sign-in-flow.ts';
import { signInPageRoute } from './sign-in-page-route.ts';
import { signOutRoutes } from './sign-out-route.ts';
import { userinfoRoute } from './userinfo-route.ts';

export interface ForwardAuthDeps {
  config: Config;
  store: Store;
  sessions: ForwardAuthSessions;
  verify: AccessTokenVerifier;
  mintHostToken: HostTokenMinter;
  policy: HostPolicy;
  /** openid-client configuration of the forward-auth client (in-process transport). */
  oidcClient: () => Promise<client.Configuration>;
  /** Is this SSO session (its uid) signed out? Local, no store round trip. */
  isRevoked: (sid: string | undefined) => boolean;
  /** Ends an SSO session everywhere: the gateway's one sign-out (sessions/sign-out.ts). */
  endSsoSession: (sid: string) => Promise<void>;
  /** CSRF tokens of the sign-out confirmation form. */
  csrf: CsrfGuard;
  /** The gateway's secrets (newest first): they bind each cookie to its domain. */
  secrets: readonly string[];
  /** Counts one answer of `/oauth2/auth`, under its route pattern (it has no metrics hook: it is a hot path). */
  recordCheck?: (route: string, status: number, ms: number) => void;
  /** Where the check's 202s are kept for repeats (check-replay.ts); none when replaying is off. */
  replay?: CheckReplay;
  /** Counts a callback that carried this browser's sign-in cookie but not its state against the caller's address. */
  countFailure?: (request: FastifyRequest) => Promise<unknown>;
}

export function forwardAuthRoutes(deps: ForwardAuthDeps) {
  const { config } = deps;
  const site = forwardAuthSite(config);
  const cookies = forwardAuthCookies({
    secure: site.secure,
    cookieDomains: config.cookieDomains,
    maxAgeSeconds: config.ttl.session,
    secrets: deps.secrets,
  });
  const identities = createIdentityResolver({ ...deps, cookies, originOf: site.originOf });
  const isServedHost = createServedHosts(site, config.issuer);

  return async function routes(app: FastifyInstance) {
    // The sign-out confirmation form posts `csrf` and `rd`.
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );
    checkRoute(app, { ...deps, site, identities, isServedHost });
    signInPageRoute(app, { config, site, policy: deps.policy });
    signInFlowRoutes(app, { ...deps, site, cookies, identities });
    signOutRoutes(app, { ...deps, site, cookies });
    userinfoRoute(app, { identities });
  };
}

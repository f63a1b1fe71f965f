/**
 * The OpenID Provider behind the tests' fake Google (fake-google.ts serves it): a real
 * oidc-provider in the test process, built from the development IdP's parts (its sign-in and error
 * pages, its accounts' claims, its interaction steps; gateway/dev/) and from the gateway's own
 * adapter over the memory store, plus Google's ways where the gateway can tell the difference.
 *
 * Google behaviours reproduced (and why the gateway must cope with each):
 * - a refresh token only with `access_type=offline`, and again for the same user and client only
 *   after `prompt=consent` (Google's "offline access" documentation);
 * - refresh tokens are not rotated, and a refresh response carries no `refresh_token`;
 * - a refused refresh answers 400 `invalid_grant` "Token has been expired or revoked.";
 * - the ID token carries the profile and e-mail claims and `hd` (`conformIdTokenClaims: false`);
 * - userinfo answers 401 `invalid_token` once an access token has expired (`accessTokenTtl`);
 * - `prompt=select_account` shows the sign-in form again, and another user may sign in there;
 * - optionally no `id_token` in the token response (`omitIdToken`), and a consent page
 *   (`autoConsent: false`).
 *
 * What only tests need: the sign-in form also takes `sub`, `email_verified` (`true`, `false`, or
 * `unsent` to leave the claim out, as Microsoft Entra ID does) and `hd`; requests are counted; a
 * test may refuse refreshes or drop the ID token at run time, and revoke a user's grants.
 *
 * @module
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { errors, interactionPolicy } from 'oidc-provider';
import type {
  Adapter,
  AuthorizationCode,
  Client,
  Configuration,
  Interaction,
  InteractionResults,
  JWK,
  KoaContextWithOIDC,
} from 'oidc-provider';
import { endGrant } from '../../adapters/end-grant.ts';
import { createMemoryStore } from '../../adapters/memory-store.ts';
import { createOidcAdapter } from '../../adapters/oidc-adapter.ts';
import { devAccount, type DevAccount } from '../../gateway/dev/account-store.ts';
import {
  finishInteraction,
  grantRequested,
  type InteractionContext,
  readForm,
  sendPage,
} from '../../gateway/dev/interaction-steps.ts';
import { renderErrorPage, renderSignInPage } from '../../gateway/dev/render-page.ts';
import { createStoreSealing } from '../../gateway/keys/store-sealing.ts';
import { prependEdge, providerEdge } from '../../gateway/ops/observe-provider.ts';
import { createCsrfGuard, CSRF_FIELD } from '../../gateway/web/csrf.ts';
import { stylesheet } from '../../gateway/web/pages/assets.ts';
import { renderConsentPage } from '../../gateway/web/pages/consent-page.ts';

/** A client registered at the IdP, as one is registered in the Google Cloud console. */
export interface GoogleLikeClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

/** Options of {@link createGoogleLikeIdp}. */
export interface GoogleLikeIdpOptions {
  /** e.g. `http://127.0.0.1:5555`: served at the root of its own origin. */
  issuer: string;
  clients: GoogleLikeClient[];
  /**
   * Access token lifetime in seconds, default 3600. Tests use a short one to make userinfo answer
   * 401; note `exp` is `floor(now) + ttl`, so with 1 a token may expire at once: use 2 or more.
   */
  accessTokenTtl?: number;
  /** Strip `id_token` from token responses, as Google sometimes does. */
  omitIdToken?: boolean;
  /**
   * Default true: like Google, issue a refresh token only with `access_type=offline` AND (the
   * first one for that user and client OR `prompt=consent`). False: every offline request gets one.
   */
  refreshTokenOnlyOnFirstConsent?: boolean;
  /** Default true: no consent page, consent is granted at sign-in. */
  autoConsent?: boolean;
}

/** A Google-like IdP, not listening yet. */
export interface GoogleLikeIdp {
  /** The oidc-provider instance. */
  provider: Provider;
  /** Node (req, res) handler; the issuer is the root of its origin. */
  handler(req: IncomingMessage, res: ServerResponse): void;
  /**
   * Requests seen per endpoint. `token` counts every token request; `refresh` counts those with
   * `grant_type=refresh_token` (so they are in both).
   */
  counters: { authorization: number; token: number; refresh: number; userinfo: number };
  /** Switches tests may flip at run time. */
  behaviour: { failRefreshWithInvalidGrant: boolean; omitIdToken: boolean };
  /** Revokes every grant of `sub` and the tokens issued under them (Google's "remove access"). */
  revokeUserGrants(sub: string): Promise<void>;
}

/** What Google releases for a sign-in, with what only a test may change. */
type GoogleAccount = Omit<DevAccount, 'email_verified'> & { email_verified?: boolean; hd?: string };

const SCOPES = ['openid', 'email', 'profile', 'offline_access'];
/** What Google answers when a refresh token is revoked, expired or unknown. */
const GOOGLE_INVALID_GRANT = {
  error: 'invalid_grant',
  error_description: 'Token has been expired or revoked.',
};
const INTERACTION_PATH = /^\/interaction\/([\w-]+)(?:\/(confirm|abort))?$/;
/** Where the pages (the development IdP's, in the gateway's page kit) find their stylesheet. */
const STYLESHEET_PATH = '/assets/gateway.css';
const AUTHORIZATION_CODE_TTL = 600;
/**
 * Seconds of leeway on expiry. oidc-provider's default (15) would let an access token with
 * `accessTokenTtl: 2` work for 17 s; the IdP both issues and checks its opaque tokens on one
 * clock, so none is needed.
 */
const CLOCK_TOLERANCE = 0;

/** Creates the IdP. Nothing listens: serve {@link GoogleLikeIdp.handler} from `node:http`. */
export function createGoogleLikeIdp(options: GoogleLikeIdpOptions): GoogleLikeIdp {
  const autoConsent = options.autoConsent ?? true;
  const onlyOnFirstConsent = options.refreshTokenOnlyOnFirstConsent ?? true;
  const warn = (err: unknown, msg: string) => console.error(msg, (err as Error | undefined)?.message ?? '');

  const counters = { authorization: 0, token: 0, refresh: 0, userinfo: 0 };
  const cookieKey = randomBytes(32).toString('base64url');
  const csrf = createCsrfGuard([cookieKey]);
  const behaviour = {
    failRefreshWithInvalidGrant: false,
    omitIdToken: options.omitIdToken ?? false,
  };
  const accounts = new Map<string, GoogleAccount>();
  const records = createOidcAdapter(createMemoryStore(), createStoreSealing(randomBytes(32)));
  /** Grant ids by account, for {@link GoogleLikeIdp.revokeUserGrants} (the store only finds a grant by its id). */
  const grantsOf = new Map<string, Set<string>>();
  const adapter = (model: string): Adapter => {
    const inner = records(model);
    if (model !== 'Grant') return inner;
    return {
      ...inner,
      async upsert(id, payload, expiresIn) {
        if (typeof payload.accountId === 'string') {
          const grants = grantsOf.get(payload.accountId) ?? new Set<string>();
          grantsOf.set(payload.accountId, grants.add(id));
        }
        await inner.upsert(id, payload, expiresIn);
      },
    };
  };
  /** Authorization codes issued for offline access, by code id, until redeemed. */
  const offlineCodes = new Map<string, { consentRequested: boolean; expiresAt: number }>();
  /** `${sub} ${client_id}` pairs that already received a refresh token. */
  const refreshIssued = new Set<string>();

  const configuration: Configuration = {
    adapter,
    clockTolerance: CLOCK_TOLERANCE,
    clients: options.clients.map((client) => ({
      client_id: client.client_id,
      client_secret: client.client_secret,
      redirect_uris: client.redirect_uris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    })),
    // Google accepts the secret either way (RFC 6749 §2.3.1); oidc-provider treats the two as one.
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    jwks: { keys: [signingKey()] },
    cookies: {
      keys: [cookieKey],
      // Own names: a browser sends cookies across ports, and the gateway's provider sets `_session`.
      names: {
        session: '_google_session',
        interaction: '_google_interaction',
        resume: '_google_interaction_resume',
      },
      long: { httpOnly: true, sameSite: 'lax', path: '/' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    scopes: SCOPES,
    claims: {
      openid: ['sub', 'hd'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'picture', 'locale'],
    },
    // Google's own authorization parameters; unknown ones would be dropped silently.
    extraParams: ['access_type', 'hd', 'include_granted_scopes'],
    // Google puts e-mail and profile claims in the ID token even when an access token is issued.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { required: () => true },
    clientBasedCORS: () => false,
    findAccount: (_ctx, sub) => {
      const account = accounts.get(sub);
      return account === undefined ? undefined : { accountId: sub, claims: () => ({ ...account }) };
    },
    features: {
      devInteractions: { enabled: false },
      // Google offers none of these; a client must not come to rely on them here.
      dPoP: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      resourceIndicators: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      userinfo: { enabled: true },
      revocation: {
        enabled: true,
        // RFC 7009 §2.1: a client may revoke only its own tokens.
        allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
      },
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
      policy: googlePolicy(),
    },
    // Google's refresh tokens outlive the browser session that created them.
    expiresWithSession: () => false,
    issueRefreshToken,
    rotateRefreshToken: () => {
      if (behaviour.failRefreshWithInvalidGrant) {
        throw new errors.InvalidGrant('refused by behaviour.failRefreshWithInvalidGrant');
      }
      return false; // Google does not rotate refresh tokens.
    },
    ttl: {
      AccessToken: options.accessTokenTtl ?? 3600,
      AuthorizationCode: AUTHORIZATION_CODE_TTL,
      IdToken: 3600,
      RefreshToken: 30 * 24 * 3600,
      Grant: 365 * 24 * 3600,
      Session: 14 * 24 * 3600,
      Interaction: 3600,
    },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = renderErrorPage(out.error, out.error_description, ctx.get('accept-language'));
    },
  };

  const provider = new Provider(options.issuer, configuration);
  provider.on('server_error', (_ctx: unknown, err: Error) => warn(err, 'fake Google: server_error'));
  provider.use(googleLike);

  /**
   * Google's rule for refresh tokens, at the token endpoint: the code must come from a request
   * with `access_type=offline`, and the user+client pair must not have had one yet unless that
   * request had `prompt=consent`.
   */
  async function issueRefreshToken(
    _ctx: KoaContextWithOIDC,
    client: Client,
    source: { kind: string; jti: string },
  ): Promise<boolean> {
    if (source.kind !== 'AuthorizationCode' || !client.grantTypeAllowed('refresh_token')) return false;
    const offline = offlineCodes.get(source.jti);
    offlineCodes.delete(source.jti);
    if (offline === undefined) return false;
    const code = source as AuthorizationCode;
    const pair = `${code.accountId} ${client.clientId}`;
    if (onlyOnFirstConsent && refreshIssued.has(pair) && !offline.consentRequested) return false;
    refreshIssued.add(pair);
    return true;
  }

  /** Remembers codes issued for offline access, with whether consent was asked again. */
  function recordOfflineCode(ctx: KoaContextWithOIDC): void {
    const code = ctx.oidc.entities.AuthorizationCode;
    if (code === undefined) return;
    const params = ctx.oidc.params ?? {};
    const offline = params['access_type'] === 'offline' || code.scopes.has('offline_access');
    if (!offline) return;
    const now = Date.now();
    for (const [jti, entry] of offlineCodes) if (entry.expiresAt <= now) offlineCodes.delete(jti);
    offlineCodes.set(code.jti, {
      consentRequested: String(params['prompt'] ?? '')
        .split(' ')
        .includes('consent'),
      expiresAt: now + AUTHORIZATION_CODE_TTL * 1000,
    });
  }

  /**
   * Koa middleware in front of oidc-provider: serves the interaction pages and their stylesheet,
   * counts requests and reshapes token responses the way Google sends them.
   */
  async function googleLike(ctx: InteractionContext, next: () => Promise<unknown>): Promise<void> {
    if (ctx.path === STYLESHEET_PATH && ctx.method === 'GET') {
      ctx.type = 'text/css; charset=utf-8';
      ctx.body = stylesheet;
      return;
    }
    const interaction = INTERACTION_PATH.exec(ctx.path);
    if (interaction !== null) {
      await interactionRoute(ctx, interaction[1] ?? '', interaction[2]);
      return;
    }
    await next();
    const oidcCtx = ctx as unknown as KoaContextWithOIDC;
    const oidc = oidcCtx.oidc as KoaContextWithOIDC['oidc'] | undefined;
    switch (oidc?.route) {
      case 'authorization':
        counters.authorization += 1;
        recordOfflineCode(oidcCtx);
        break;
      case 'resume':
        recordOfflineCode(oidcCtx);
        break;
      case 'userinfo':
        counters.userinfo += 1;
        break;
      case 'token': {
        counters.token += 1;
        const body = isRecord(ctx.body) ? ctx.body : undefined;
        if (oidc.params?.['grant_type'] === 'refresh_token') {
          counters.refresh += 1;
          if (body?.['error'] === 'invalid_grant') ctx.body = { ...GOOGLE_INVALID_GRANT };
          // Not rotated, so Google does not send it again; the client keeps the one it has.
          else delete body?.['refresh_token'];
        }
        if (behaviour.omitIdToken) delete body?.['id_token'];
        break;
      }
      default:
        break;
    }
  }

  /** The sign-in and consent pages (oidc-provider's `interactions.url`). */
  async function interactionRoute(ctx: InteractionContext, uid: string, action: string | undefined): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    const acceptLanguage = ctx.get('accept-language');
    try {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      if (details.uid !== uid) throw new errors.SessionNotFound('interaction cookie does not match the URL');
      const isConsent = details.prompt.name === 'consent';
      const form = ctx.method === 'POST' ? await readForm(ctx.req) : undefined;
      if (form && csrf.check(ctx.req.headers, 'google', uid, form.get(CSRF_FIELD) ?? undefined)) {
        const refusal = 'This form did not come from this sign-in page, or has expired.';
        sendPage(ctx, 403, renderErrorPage('invalid_request', refusal, acceptLanguage));
        return;
      }
      const csrfToken = csrf.token('google', uid);
      const accountId = details.session?.accountId ?? '';

      if (action === 'abort' && ctx.method === 'POST') {
        await finishInteraction(provider, ctx, {
          error: 'access_denied',
          error_description: 'End-User aborted interaction',
        });
      } else if (ctx.method === 'GET' && action === undefined && isConsent && autoConsent) {
        await finishInteraction(provider, ctx, { consent: { grantId: await grant(details, accountId) } });
      } else if (ctx.method === 'GET' && action === undefined && isConsent) {
        const missing = details.prompt.details['missingOIDCScope'];
        sendPage(
          ctx,
          200,
          renderConsentPage(acceptLanguage, {
            uid,
            clientName: String(details.params['client_id']),
            scopes: Array.isArray(missing) ? missing.map(String) : [],
            accountLabel: accounts.get(accountId)?.email,
            csrfToken,
          }),
        );
      } else if (ctx.method === 'GET' && action === undefined) {
        sendPage(
          ctx,
          200,
          renderSignInPage({
            action: `/interaction/${uid}`,
            abortAction: `/interaction/${uid}/abort`,
            clientId: String(details.params['client_id']),
            acceptLanguage,
            csrfToken,
            ...(typeof details.params['login_hint'] === 'string' ? { loginHint: details.params['login_hint'] } : {}),
            ...(typeof details.params['hd'] === 'string' ? { hostedDomain: details.params['hd'] } : {}),
          }),
        );
      } else if (ctx.method === 'POST' && action === 'confirm' && isConsent) {
        await finishInteraction(provider, ctx, { consent: { grantId: await grant(details, accountId) } });
      } else if (ctx.method === 'POST' && action === undefined && !isConsent) {
        await signIn(ctx, details, readAccount(form ?? new URLSearchParams()));
      } else {
        sendPage(
          ctx,
          405,
          renderErrorPage('invalid_request', 'This page does not accept that request.', acceptLanguage),
        );
      }
    } catch (err) {
      if (err instanceof errors.OIDCProviderError && err.expose) {
        const description = (err as { error_description?: string }).error_description;
        sendPage(ctx, err.status, renderErrorPage(err.error, description, acceptLanguage));
      } else {
        warn(err, 'fake Google: interaction failed');
        sendPage(ctx, 500, renderErrorPage('server_error', undefined, acceptLanguage));
      }
    }
  }

  /** The sign-in form was posted: remember the account, log it in, and consent if automatic. */
  async function signIn(ctx: InteractionContext, details: Interaction, account: GoogleAccount): Promise<void> {
    accounts.set(account.sub, account);
    if (details.session !== undefined && details.session.accountId !== account.sub) {
      // Another user signs in in this browser: end the previous user's session first, rather
      // than oidc-provider's "sign out first?" confirmation page. Google would keep both.
      const previous = await provider.Session.findByUid(details.session.uid);
      await previous?.destroy();
      delete details.session;
      await details.save(details.exp - Math.floor(Date.now() / 1000));
    }
    const result: InteractionResults = { login: { accountId: account.sub } };
    if (
      details.prompt.name === 'select_account' ||
      String(details.params['prompt'] ?? '')
        .split(' ')
        .includes('select_account')
    ) {
      result['select_account'] = {};
    }
    if (autoConsent) result.consent = { grantId: await grant(details, account.sub) };
    await finishInteraction(provider, ctx, result);
  }

  function grant(details: Interaction, accountId: string): Promise<string> {
    return grantRequested(provider, details, accountId, SCOPES);
  }

  prependEdge(provider, providerEdge({ onError: (err) => warn(err, 'fake Google: request failed') }));
  const callback = provider.callback();

  return {
    provider,
    counters,
    behaviour,
    handler(req, res) {
      void callback(req, res);
    },
    async revokeUserGrants(sub) {
      for (const grantId of grantsOf.get(sub) ?? []) await endGrant(adapter, grantId);
      grantsOf.delete(sub);
      for (const pair of refreshIssued) if (pair.startsWith(`${sub} `)) refreshIssued.delete(pair);
    },
  };
}

/**
 * oidc-provider's default prompts plus Google's `select_account`, so a client may send
 * `prompt=select_account` (OpenID Connect Core §3.1.2.1); it shows the sign-in form again.
 */
function googlePolicy(): interactionPolicy.Prompt[] {
  const policy = interactionPolicy.base();
  policy.add(new interactionPolicy.Prompt({ name: 'select_account', requestable: true }), 0);
  return policy;
}

/** A fresh RS256 signing key; ID tokens default to RS256, as Google's are. */
function signingKey(): JWK {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' } as JWK;
}

/**
 * Reads the sign-in form: the development IdP's account for its e-mail address and name, then
 * what a test may post besides (`sub`, `email_verified`, `hd`).
 */
function readAccount(form: URLSearchParams): GoogleAccount {
  const email = form.get('email')?.trim() ?? '';
  // Deliberately loose (any non-blank text around an "@", even "a@evil.com@corp.example"): the
  // gateway, not its upstream, must refuse odd addresses, and tests need an upstream that sends them.
  if (!/^\S+@\S+$/.test(email)) throw new errors.InvalidRequest('an e-mail address is required');
  const name = form.get('name')?.trim();
  const account: GoogleAccount = devAccount(name ? { email, name } : { email });
  const sub = form.get('sub')?.trim();
  if (sub) account.sub = sub;
  const verified = form.get('email_verified');
  if (verified === 'true' || verified === 'false') account.email_verified = verified === 'true';
  if (verified === 'unsent') delete account.email_verified;
  const hd = form.get('hd')?.trim();
  if (hd) account.hd = hd;
  return account;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

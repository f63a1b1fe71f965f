/**
 * The development IdP: a real OpenID Provider (oidc-provider) that behaves like Google where the
 * gateway can tell the difference. `npm start` mounts it at `${GATEWAY_ISSUER}/dev-idp` when no
 * Google credentials are configured; tests run it standalone as the fake Google.
 *
 * Google behaviours reproduced (and why the gateway must cope with each):
 * - a refresh token only with `access_type=offline`, and again for the same user and client only
 *   after `prompt=consent` (Google's "offline access" documentation);
 * - refresh tokens are not rotated, and a refresh response carries no `refresh_token`;
 * - a refused refresh answers 400 `invalid_grant` "Token has been expired or revoked.";
 * - the ID token carries the profile and e-mail claims and `hd` (`conformIdTokenClaims: false`);
 * - optionally no `id_token` in the token response (`omitIdToken`).
 *
 * @module
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { errors, interactionPolicy } from 'oidc-provider';
import type {
  AuthorizationCode,
  Client,
  Configuration,
  Interaction,
  InteractionResults,
  JWK,
  KoaContextWithOIDC,
} from 'oidc-provider';
import { createAccountStore } from './account-store.ts';
import type { DevIdentity } from './account-store.ts';
import { createMemoryAdapter } from './memory-adapter.ts';
import { PAGE_CSP, renderConsentPage, renderErrorPage, renderSignInPage } from './render-page.ts';
import { createCsrfGuard, CSRF_FIELD } from '../web/csrf.ts';
import { prependEdge, providerEdge } from '../ops/observe-provider.ts';

/** A client registered at the IdP, as one is registered in the Google Cloud console. */
export interface DevIdpClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

/** Options of {@link createDevIdp}. */
export interface DevIdpOptions {
  /** e.g. `http://127.0.0.1:5555` or `http://localhost:4000/dev-idp`. */
  issuer: string;
  clients: DevIdpClient[];
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
  /** Receives oidc-provider's `server_error` events; defaults to one line on stderr. */
  logger?: { warn(obj: object, msg: string): void };
}

/** A running development IdP. */
export interface DevIdp {
  /** The oidc-provider instance. */
  provider: Provider;
  /**
   * Node (req, res) handler. When mounted under a path prefix, it strips the prefix itself and
   * keeps the full URL in `req.originalUrl` (as express does for mounted apps), so oidc-provider
   * sees paths relative to the issuer and still writes absolute URLs under the prefix.
   */
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

const SCOPES = ['openid', 'email', 'profile', 'offline_access'];
/** What Google answers when a refresh token is revoked, expired or unknown. */
const GOOGLE_INVALID_GRANT = {
  error: 'invalid_grant',
  error_description: 'Token has been expired or revoked.',
};
const INTERACTION_PATH = /^\/interaction\/([\w-]+)(?:\/(confirm|abort))?$/;
const MAX_FORM_BYTES = 16 * 1024;
const AUTHORIZATION_CODE_TTL = 600;
/**
 * Seconds of leeway on expiry. oidc-provider's default (15) would let an access token with
 * `accessTokenTtl: 1` work for 16 s; the IdP both issues and checks its opaque tokens on one
 * clock, so none is needed.
 */
const CLOCK_TOLERANCE = 0;

type ProviderMiddleware = Parameters<Provider['use']>[0];
type ProviderContext = Parameters<ProviderMiddleware>[0];

/**
 * Creates the development IdP. Nothing listens: serve {@link DevIdp.handler} from `node:http`, or
 * route a path prefix to it (then pass that prefix as `mountPath`; it defaults to the issuer's
 * path and must equal it).
 */
export function createDevIdp(options: DevIdpOptions & { mountPath?: string }): DevIdp {
  const issuerPath = new URL(options.issuer).pathname.replace(/\/+$/, '');
  const mountPath = (options.mountPath ?? issuerPath).replace(/\/+$/, '');
  if (mountPath !== issuerPath) {
    throw new TypeError(`dev-idp: mountPath "${mountPath}" must equal the issuer's path "${issuerPath}"`);
  }
  const autoConsent = options.autoConsent ?? true;
  const onlyOnFirstConsent = options.refreshTokenOnlyOnFirstConsent ?? true;
  const logger = options.logger ?? {
    warn: (obj: object, msg: string) => console.error(msg, (obj as { err?: Error }).err?.message ?? ''),
  };

  const counters = { authorization: 0, token: 0, refresh: 0, userinfo: 0 };
  /** Signs the IdP's cookies and keys its forms' CSRF tokens; new on every start, as its memory store is. */
  const cookieKey = randomBytes(32).toString('base64url');
  const csrf = createCsrfGuard([cookieKey]);
  const behaviour = {
    failRefreshWithInvalidGrant: false,
    omitIdToken: options.omitIdToken ?? false,
  };
  const accounts = createAccountStore();
  const store = createMemoryAdapter(CLOCK_TOLERANCE);
  /** Authorization codes issued for offline access, by code id, until redeemed. */
  const offlineCodes = new Map<string, { consentRequested: boolean; expiresAt: number }>();
  /** `${sub} ${client_id}` pairs that already received a refresh token. */
  const refreshIssued = new Set<string>();

  const configuration: Configuration = {
    adapter: store.adapter,
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
      // Own names: when mounted, the gateway's own oidc-provider sets `_session` on the same host.
      names: {
        session: '_dev_idp_session',
        interaction: '_dev_idp_interaction',
        resume: '_dev_idp_interaction_resume',
      },
      long: { httpOnly: true, sameSite: 'lax', path: mountPath || '/' },
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
      return account === undefined ? undefined : accounts.toOidcAccount(account);
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
      url: (_ctx, interaction) => `${mountPath}/interaction/${interaction.uid}`,
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
      ctx.set('Content-Security-Policy', PAGE_CSP);
      ctx.body = renderErrorPage(out.error, out.error_description, ctx.get('accept-language'));
    },
  };

  const provider = new Provider(options.issuer, configuration);
  provider.on('server_error', (_ctx: unknown, err: Error) => logger.warn({ err }, 'dev-idp: server_error'));
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
    const offline = params.access_type === 'offline' || code.scopes.has('offline_access');
    if (!offline) return;
    const now = Date.now();
    for (const [jti, entry] of offlineCodes) if (entry.expiresAt <= now) offlineCodes.delete(jti);
    offlineCodes.set(code.jti, {
      consentRequested: String(params.prompt ?? '')
        .split(' ')
        .includes('consent'),
      expiresAt: now + AUTHORIZATION_CODE_TTL * 1000,
    });
  }

  /**
   * Koa middleware in front of oidc-provider: serves the interaction pages, counts requests and
   * reshapes token responses the way Google sends them.
   */
  async function googleLike(ctx: ProviderContext, next: () => Promise<unknown>): Promise<void> {
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
        if (oidc.params?.grant_type === 'refresh_token') {
          counters.refresh += 1;
          if (body?.error === 'invalid_grant') ctx.body = { ...GOOGLE_INVALID_GRANT };
          // Not rotated, so Google does not send it again; the client keeps the one it has.
          else delete body?.refresh_token;
        }
        if (behaviour.omitIdToken) delete body?.id_token;
        break;
      }
      default:
        break;
    }
  }

  /** The sign-in and consent pages (oidc-provider's `interactions.url`). */
  async function interactionRoute(ctx: ProviderContext, uid: string, action: string | undefined): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    try {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      if (details.uid !== uid) throw new errors.SessionNotFound('interaction cookie does not match the URL');
      const base = `${mountPath}/interaction/${uid}`;
      const clientId = String(details.params.client_id);
      const isConsent = details.prompt.name === 'consent';
      // Every form post carries the page's CSRF token (a person's browser posts the hidden field).
      const form = ctx.method === 'POST' ? await readForm(ctx.req) : undefined;
      if (form && csrf.check(ctx.req.headers, 'dev-idp', uid, form.get(CSRF_FIELD) ?? undefined)) {
        sendPage(
          ctx,
          403,
          renderErrorPage(
            'invalid_request',
            'This form did not come from this sign-in page, or has expired.',
            ctx.get('accept-language'),
          ),
        );
        return;
      }
      const csrfToken = csrf.token('dev-idp', uid);

      // Cancelling ends the client's sign-in with access_denied, so it is a form post with the
      // token like the others: a GET would let any page (a link, an <img>) cancel it cross-site.
      if (action === 'abort' && ctx.method === 'POST') {
        await finish(ctx, { error: 'access_denied', error_description: 'End-User aborted interaction' });
      } else if (ctx.method === 'GET' && action === undefined && isConsent && autoConsent) {
        await finish(ctx, { consent: { grantId: await grantFor(details, details.session?.accountId ?? '') } });
      } else if (ctx.method === 'GET' && action === undefined && isConsent) {
        const account = accounts.get(details.session?.accountId ?? '');
        const missing = details.prompt.details.missingOIDCScope;
        sendPage(
          ctx,
          200,
          renderConsentPage({
            action: `${base}/confirm`,
            abortAction: `${base}/abort`,
            clientId,
            email: account?.email ?? '',
            scopes: Array.isArray(missing) ? missing.map(String) : [],
            acceptLanguage: ctx.get('accept-language'),
            csrfToken,
          }),
        );
      } else if (ctx.method === 'GET' && action === undefined) {
        sendPage(
          ctx,
          200,
          renderSignInPage({
            action: base,
            abortAction: `${base}/abort`,
            clientId,
            acceptLanguage: ctx.get('accept-language'),
            csrfToken,
            ...(typeof details.params.login_hint === 'string' ? { loginHint: details.params.login_hint } : {}),
            ...(typeof details.params.hd === 'string' ? { hostedDomain: details.params.hd } : {}),
          }),
        );
      } else if (ctx.method === 'POST' && action === 'confirm' && isConsent) {
        await finish(ctx, { consent: { grantId: await grantFor(details, details.session?.accountId ?? '') } });
      } else if (ctx.method === 'POST' && action === undefined && !isConsent) {
        await signIn(ctx, details, parseIdentity(form ?? new URLSearchParams()));
      } else {
        sendPage(
          ctx,
          405,
          renderErrorPage('invalid_request', 'This page does not accept that request.', ctx.get('accept-language')),
        );
      }
    } catch (err) {
      if (err instanceof errors.OIDCProviderError && err.expose) {
        sendPage(
          ctx,
          err.status,
          renderErrorPage(
            err.error,
            (err as { error_description?: string }).error_description,
            ctx.get('accept-language'),
          ),
        );
      } else {
        logger.warn({ err }, 'dev-idp: interaction failed');
        sendPage(ctx, 500, renderErrorPage('server_error', undefined, ctx.get('accept-language')));
      }
    }
  }

  /** The sign-in form was posted: remember the account, log it in, and consent if automatic. */
  async function signIn(ctx: ProviderContext, details: Interaction, identity: DevIdentity): Promise<void> {
    const account = accounts.upsert(identity);
    if (details.session !== undefined && details.session.accountId !== account.sub) {
      // Another user signs in in this browser: end the previous user's IdP session first, rather
      // than oidc-provider's "sign out first?" confirmation page. Google would keep both.
      const previous = await provider.Session.findByUid(details.session.uid);
      await previous?.destroy();
      delete details.session;
      await details.save(details.exp - Math.floor(Date.now() / 1000));
    }
    const result: InteractionResults = { login: { accountId: account.sub } };
    if (
      details.prompt.name === 'select_account' ||
      String(details.params.prompt ?? '')
        .split(' ')
        .includes('select_account')
    ) {
      result.select_account = {};
    }
    if (autoConsent) result.consent = { grantId: await grantFor(details, account.sub) };
    await finish(ctx, result);
  }

  /** Saves the interaction result and sends the browser back to the authorization endpoint. */
  async function finish(ctx: ProviderContext, result: InteractionResults): Promise<void> {
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(returnTo);
  }

  /**
   * Grants what the client asked for. At sign-in the consent prompt has not been evaluated yet, so
   * the requested scopes are granted; on a consent prompt, what it reports as missing.
   */
  async function grantFor(details: Interaction, accountId: string): Promise<string> {
    const clientId = String(details.params.client_id);
    const existing = details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId);
    const grant =
      existing !== undefined && existing.accountId === accountId && existing.clientId === clientId
        ? existing
        : new provider.Grant({ accountId, clientId });
    const requested = String(details.params.scope ?? '')
      .split(' ')
      .filter((scope) => SCOPES.includes(scope));
    const { missingOIDCScope, missingOIDCClaims } = details.prompt.details;
    grant.addOIDCScope(Array.isArray(missingOIDCScope) ? [...requested, ...missingOIDCScope.map(String)] : requested);
    if (Array.isArray(missingOIDCClaims)) grant.addOIDCClaims(missingOIDCClaims.map(String));
    return grant.save();
  }

  // Outermost: security headers, problem+json for unknown paths, JSON for escaped errors (gateway/ops/).
  prependEdge(provider, providerEdge({ onError: (err) => logger.warn({ err }, 'dev-idp: request failed') }));
  const callback = provider.callback();

  return {
    provider,
    counters,
    behaviour,
    handler(req, res) {
      if (mountPath !== '') {
        const url = req.url ?? '/';
        if (url !== mountPath && !url.startsWith(`${mountPath}/`) && !url.startsWith(`${mountPath}?`)) {
          res.statusCode = 404;
          res.end();
          return;
        }
        const mounted = req as IncomingMessage & { originalUrl?: string };
        mounted.originalUrl ??= url;
        const rest = url.slice(mountPath.length);
        req.url = rest.startsWith('/') ? rest : `/${rest}`;
      }
      void callback(req, res);
    },
    async revokeUserGrants(sub) {
      store.revokeAccount(sub);
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

function sendPage(ctx: ProviderContext, status: number, html: string): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Content-Security-Policy', PAGE_CSP);
  ctx.body = html;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new errors.InvalidRequest('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Reads the sign-in form; `sub`, `email_verified` (`true`, `false`, or `unsent` to leave the claim
 * out, as some upstreams do) and `hd` are for tests and optional.
 */
function parseIdentity(form: URLSearchParams): DevIdentity {
  const email = form.get('email')?.trim() ?? '';
  // Deliberately loose (any non-blank text around an "@", even "a@evil.com@corp.example"): the
  // gateway, not its upstream, must refuse odd addresses, and tests need an upstream that sends them.
  if (!/^\S+@\S+$/.test(email)) throw new errors.InvalidRequest('an e-mail address is required');
  const identity: DevIdentity = { email };
  const name = form.get('name')?.trim();
  if (name) identity.name = name;
  const sub = form.get('sub')?.trim();
  if (sub) identity.sub = sub;
  const verified = form.get('email_verified');
  if (verified === 'true' || verified === 'false') identity.email_verified = verified === 'true';
  if (verified === 'unsent') identity.email_verified = 'unsent';
  const hd = form.get('hd')?.trim();
  if (hd) identity.hd = hd;
  return identity;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

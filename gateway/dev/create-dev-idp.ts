/**
 * The development IdP: a real OpenID Provider (oidc-provider) that `npm start` mounts at
 * `${GATEWAY_ISSUER}/dev-idp` when no upstream credentials are configured, so a person can sign in
 * with any e-mail address and no password. It keeps everything in memory (a restart signs everyone
 * out, as intended) and answers the gateway as an upstream such as Google would: the claims of
 * `openid email profile`, and a refresh token with every sign-in (the gateway always asks for
 * offline access, as it must at Google), never rotated.
 *
 * The tests' fake Google (tests/helpers/google-like-idp.ts) is another provider built from the same
 * parts (pages, accounts, interaction steps) plus the quirks of Google that tests need.
 *
 * @module
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { errors } from 'oidc-provider';
import type { Configuration, Interaction, JWK } from 'oidc-provider';
import { createMemoryStore } from '../../adapters/memory-store.ts';
import { createOidcAdapter } from '../../adapters/oidc-adapter.ts';
import { createStoreSealing } from '../keys/store-sealing.ts';
import { prependEdge, providerEdge } from '../ops/observe-provider.ts';
import { createCsrfGuard, CSRF_FIELD } from '../web/csrf.ts';
import { createAccountStore } from './account-store.ts';
import type { DevIdentity } from './account-store.ts';
import { finishInteraction, grantRequested, type InteractionContext, readForm, sendPage } from './interaction-steps.ts';
import { renderErrorPage, renderSignInPage } from './render-page.ts';

/** A client registered at the IdP, as one is registered in the Google Cloud console. */
export interface DevIdpClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

/** Options of {@link createDevIdp}. */
export interface DevIdpOptions {
  /** e.g. `http://localhost:4000/dev-idp`. */
  issuer: string;
  /** The path prefix it is served under; defaults to the issuer's path, and must equal it. */
  mountPath?: string;
  clients: DevIdpClient[];
}

/** A running development IdP. */
export interface DevIdp {
  /**
   * Node (req, res) handler. When mounted under a path prefix, it strips the prefix itself and
   * keeps the full URL in `req.originalUrl` (as express does for mounted apps), so oidc-provider
   * sees paths relative to the issuer and still writes absolute URLs under the prefix.
   */
  handler(req: IncomingMessage, res: ServerResponse): void;
  /** Releases its in-memory store. */
  close(): Promise<void>;
}

const SCOPES = ['openid', 'email', 'profile', 'offline_access'];
const INTERACTION_PATH = /^\/interaction\/([\w-]+)(?:\/(abort))?$/;
/**
 * Seconds of leeway on expiry: none, since the IdP both issues and checks its opaque tokens on
 * one clock (oidc-provider's default, 15, suits tokens checked elsewhere).
 */
const CLOCK_TOLERANCE = 0;

/**
 * Creates the development IdP. Nothing listens: route its path prefix to {@link DevIdp.handler}.
 */
export function createDevIdp(options: DevIdpOptions): DevIdp {
  const issuerPath = new URL(options.issuer).pathname.replace(/\/+$/, '');
  const mountPath = (options.mountPath ?? issuerPath).replace(/\/+$/, '');
  if (mountPath !== issuerPath) {
    throw new TypeError(`dev-idp: mountPath "${mountPath}" must equal the issuer's path "${issuerPath}"`);
  }
  const warn = (err: unknown, msg: string) => console.error(msg, (err as Error | undefined)?.message ?? '');

  /** Signs the IdP's cookies and keys its forms' CSRF tokens; new on every start, as its memory store is. */
  const cookieKey = randomBytes(32).toString('base64url');
  const csrf = createCsrfGuard([cookieKey]);
  const accounts = createAccountStore();
  // The gateway's own oidc-provider adapter over its in-memory store; sealed under a key of this
  // start only, like everything else here.
  const store = createMemoryStore();

  const configuration: Configuration = {
    adapter: createOidcAdapter(store, createStoreSealing(randomBytes(32))),
    clockTolerance: CLOCK_TOLERANCE,
    clients: options.clients.map((client) => ({
      client_id: client.client_id,
      client_secret: client.client_secret,
      redirect_uris: client.redirect_uris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    })),
    // As Google: the secret either way (RFC 6749 §2.3.1).
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    jwks: { keys: [signingKey()] },
    cookies: {
      keys: [cookieKey],
      // Own names: the gateway's own oidc-provider sets `_session` on the same host.
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
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'picture', 'locale'],
    },
    // Google's hosted-domain parameter, which the gateway sends when one domain is allowed: the
    // sign-in page shows it (unknown parameters would be dropped silently).
    extraParams: ['hd'],
    responseTypes: ['code'],
    pkce: { required: () => true },
    clientBasedCORS: () => false,
    findAccount: (_ctx, sub) => accounts.find(sub),
    features: {
      devInteractions: { enabled: false },
      // Nothing the gateway uses of an upstream: fewer endpoints, less to go wrong.
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
    interactions: { url: (_ctx, interaction) => `${mountPath}/interaction/${interaction.uid}` },
    // Refresh tokens outlive the browser session that created them, as an upstream's do.
    expiresWithSession: () => false,
    issueRefreshToken: async (_ctx, client, code) =>
      code.kind === 'AuthorizationCode' && client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => false,
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 600,
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
  provider.on('server_error', (_ctx: unknown, err: Error) => warn(err, 'dev-idp: server_error'));
  provider.use(async (ctx, next) => {
    const interaction = INTERACTION_PATH.exec(ctx.path);
    if (interaction === null) return next();
    await interactionRoute(ctx, interaction[1] ?? '', interaction[2]);
  });

  /** The sign-in page (oidc-provider's `interactions.url`), its form, and its "Cancel". */
  async function interactionRoute(ctx: InteractionContext, uid: string, action: string | undefined): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    const acceptLanguage = ctx.get('accept-language');
    try {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      if (details.uid !== uid) throw new errors.SessionNotFound('interaction cookie does not match the URL');
      const base = `${mountPath}/interaction/${uid}`;
      // Every form post carries the page's CSRF token (a person's browser posts the hidden field).
      const form = ctx.method === 'POST' ? await readForm(ctx.req) : undefined;
      if (form && csrf.check(ctx.req.headers, 'dev-idp', uid, form.get(CSRF_FIELD) ?? undefined)) {
        const refusal = 'This form did not come from this sign-in page, or has expired.';
        sendPage(ctx, 403, renderErrorPage('invalid_request', refusal, acceptLanguage));
        return;
      }
      const isConsent = details.prompt.name === 'consent';

      // Cancelling ends the client's sign-in with access_denied, so it is a form post with the
      // token like the sign-in: a GET would let any page (a link, an <img>) cancel it cross-site.
      if (action === 'abort' && ctx.method === 'POST') {
        await finishInteraction(provider, ctx, {
          error: 'access_denied',
          error_description: 'End-User aborted interaction',
        });
      } else if (ctx.method === 'GET' && action === undefined && isConsent) {
        // No consent page: the one client is the gateway, which the person is using right now.
        const accountId = details.session?.accountId ?? '';
        await finishInteraction(provider, ctx, { consent: { grantId: await grant(details, accountId) } });
      } else if (ctx.method === 'GET' && action === undefined) {
        sendPage(
          ctx,
          200,
          renderSignInPage({
            action: base,
            abortAction: `${base}/abort`,
            clientId: String(details.params['client_id']),
            acceptLanguage,
            csrfToken: csrf.token('dev-idp', uid),
            ...(typeof details.params['login_hint'] === 'string' ? { loginHint: details.params['login_hint'] } : {}),
            ...(typeof details.params['hd'] === 'string' ? { hostedDomain: details.params['hd'] } : {}),
          }),
        );
      } else if (ctx.method === 'POST' && action === undefined && !isConsent) {
        const account = accounts.upsert(readIdentity(form ?? new URLSearchParams()));
        await finishInteraction(provider, ctx, {
          login: { accountId: account.sub },
          consent: { grantId: await grant(details, account.sub) },
        });
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
        warn(err, 'dev-idp: interaction failed');
        sendPage(ctx, 500, renderErrorPage('server_error', undefined, acceptLanguage));
      }
    }
  }

  function grant(details: Interaction, accountId: string): Promise<string> {
    return grantRequested(provider, details, accountId, SCOPES);
  }

  // Outermost: security headers, problem+json for unknown paths, JSON for escaped errors (gateway/ops/).
  prependEdge(provider, providerEdge({ onError: (err) => warn(err, 'dev-idp: request failed') }));
  const callback = provider.callback();

  return {
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
    close: () => store.close(),
  };
}

/** A fresh RS256 signing key; ID tokens default to RS256, as Google's are. */
function signingKey(): JWK {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' } as JWK;
}

/** Reads the sign-in form: an e-mail address and an optional display name. */
function readIdentity(form: URLSearchParams): DevIdentity {
  const email = form.get('email')?.trim() ?? '';
  // Loose on purpose (any non-blank text around an "@"): the gateway, not its upstream, decides
  // which addresses it accepts.
  if (!/^\S+@\S+$/.test(email)) throw new errors.InvalidRequest('an e-mail address is required');
  const name = form.get('name')?.trim();
  return name ? { email, name } : { email };
}

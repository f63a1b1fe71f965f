/**
 * Sign-in at an upstream (Google, any OpenID Provider): the authorization request and the
 * upstream's callback (`/upstream/<id>/callback`, or the shorthand's `/upstream/callback`).
 *
 * Each attempt is a transaction kept server-side under its `state` (RFC 6749 §10.12), with the
 * PKCE verifier (RFC 7636) and the nonce, and bound to the browser by a cookie holding the same
 * state: a callback whose state does not match that cookie (login CSRF, a tampered or replayed
 * URL) is refused, and each transaction is used at most once. The transaction holds the PKCE
 * verifier and the interaction's uid (the interaction cookie), so it is sealed, under a keyed hash
 * of the state (the store's sealing).
 *
 * A callback can be cut short: the instance that took the transaction dies (OOM kill, node drain)
 * before it answers, and the browser retries the same callback on another instance, or the user
 * reloads it. The transaction is used by then, so the retry is refused, but with a way on: the
 * marker that makes it single-use keeps the interaction's uid (sealed), and the refusal page links
 * to the app's authorization request resumed, which starts a new sign-in, or finishes this one if
 * the dead instance got that far. Never a 500, never a redirect loop: one page, one link.
 *
 * With several upstreams, a transaction names the one it was started at, and only that
 * upstream's callback accepts it: a code from one upstream delivered to another's callback (a
 * mix-up, RFC 9700 §4.4) is refused before any code is sent anywhere.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as client from 'openid-client';
import type Provider from 'oidc-provider';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import { GatewayError, sendError } from '../web/errors.ts';
import { messagesFor } from '../web/pages/i18n.ts';
import { resolveAccount } from '../accounts/account-store.ts';
import { checkIdentity } from './check-identity.ts';
import { readGroups, upstreamMemberships, upstreamProfile } from './upstream-profile.ts';
import { signInAmr } from './signed-in-through.ts';
import { UpstreamLinkGoneError } from './upstream-tokens.ts';
import type { Upstream, Upstreams } from './upstreams.ts';
import type { SignInEvents } from '../ops/sign-in-events.ts';
/** Holds the state of the sign-in in progress; path-scoped, so `__Secure-` on https (RFC 6265bis §4.1.3). */
const txCookie = (secure: boolean) => (secure ? '__Secure-gw_upstream' : 'gw_upstream');
const TX_TTL_MS = 10 * 60 * 1000;

interface UpstreamTransaction {
  /** The oidc-provider interaction this sign-in completes. */
  uid: string;
  codeVerifier: string;
  nonce: string;
  /** Whether this attempt asked the upstream for consent again (to obtain a refresh token). */
  forcedConsent: boolean;
  /** The id of the upstream it was started at (absent in transactions of earlier versions: the first). */
  upstream?: string;
}

export interface UpstreamLoginDeps {
  provider: Provider;
  store: Store;
  sealing: Sealing;
  upstreams: Upstreams;
  /** User names never handed out as they are (GATEWAY_RESERVED_USERNAMES). */
  reservedUsernames: readonly string[];
  issuer: string;
  secureCookies: boolean;
  metrics?: { authorizationRedirects: number };
  /** Told of every sign-in's outcome (metrics and audit events, gateway/ops/). */
  events?: SignInEvents;
  /**
   * Counts, against the caller's address, a callback that carried this browser's sign-in cookie
   * but not its state (tampered or replayed). A callback with no such cookie is not counted: any
   * page can make its visitors' browsers send junk callbacks (an `<img>`), and must not lock
   * their address out.
   */
  countForgedCallback?: (request: FastifyRequest) => Promise<unknown>;
}

const txKey = (deps: UpstreamLoginDeps, state: string) => `upstream-tx:${deps.sealing.hashId(state)}`;
const txUsedKey = (deps: UpstreamLoginDeps, state: string) => `upstream-tx-used:${deps.sealing.hashId(state)}`;

/** Redirects the browser to `upstream`'s authorization endpoint for interaction `uid`. */
export async function beginUpstreamLogin(
  deps: UpstreamLoginDeps,
  reply: FastifyReply,
  options: { upstream: Upstream; uid: string; forceConsent: boolean; loginHint?: string | undefined },
): Promise<FastifyReply> {
  const { upstream } = options;
  const state = client.randomState();
  const nonce = client.randomNonce();
  const codeVerifier = client.randomPKCECodeVerifier();
  const tx: UpstreamTransaction = {
    uid: options.uid,
    codeVerifier,
    nonce,
    forcedConsent: options.forceConsent,
    upstream: upstream.config.id,
  };
  await deps.store.set(txKey(deps, state), deps.sealing.seal(tx), TX_TTL_MS);
  const parameters: Record<string, string> = {
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  };
  // Google: a refresh token only with access_type=offline, and again only with prompt=consent.
  // (Sent to any OpenID Provider of type oidc too, as it may be a Google-like one; not to the
  // providers whose ways are known and have no such parameter.)
  if (['google', 'oidc', 'dev'].includes(upstream.config.type)) parameters['access_type'] = 'offline';
  if (options.forceConsent) parameters['prompt'] = 'consent';
  if (options.loginHint) parameters['login_hint'] = options.loginHint;
  if (upstream.policy.hostedDomains.length === 1) parameters['hd'] = upstream.policy.hostedDomains[0] ?? '';
  let url: URL;
  try {
    url = await upstream.client.authorizationUrl(parameters);
  } catch (error) {
    // Discovery failed (the upstream is down, or publishes another issuer): say so, retryable,
    // rather than a 500; the log says why, without a stack.
    reply.log.warn({ err: safeMessage(error), upstream: upstream.config.id }, 'upstream unreachable at sign-in');
    throw new GatewayError(
      'temporarily_unavailable',
      503,
      `${upstream.config.name} cannot be reached right now. Please try again in a moment.`,
    );
  }
  reply.setCookie(txCookie(deps.secureCookies), state, {
    path: upstream.config.callbackPath,
    httpOnly: true,
    sameSite: 'lax',
    secure: deps.secureCookies,
    maxAge: TX_TTL_MS / 1000,
  });
  return reply.redirect(url.href, 303);
}

function badCallback(description: string): GatewayError {
  return new GatewayError('invalid_request', 400, description);
}

/** A callback's transaction, or why it cannot be had (with its interaction's uid when known). */
type TakenTransaction = { tx: UpstreamTransaction } | { refusal: GatewayError; uid?: string };

/** Takes the transaction for `state` exactly once, after checking it belongs to this browser and `upstream`. */
async function takeTransaction(
  deps: UpstreamLoginDeps,
  upstream: Upstream,
  request: FastifyRequest,
  state: string | undefined,
): Promise<TakenTransaction> {
  const cookieState = request.cookies[txCookie(deps.secureCookies)];
  if (!state) return { refusal: badCallback('The sign-in answer has no state. Please start again.') };
  if (!cookieState || cookieState !== state) {
    return {
      refusal: badCallback('This sign-in answer does not belong to this browser (state mismatch). Please start again.'),
    };
  }
  const sealed = await deps.store.get<string>(txKey(deps, state));
  const tx = sealed === undefined ? undefined : deps.sealing.open<UpstreamTransaction>(sealed);
  if (tx && (tx.upstream ?? deps.upstreams.first.config.id) !== upstream.config.id) {
    // Started at another upstream: this callback must not redeem that upstream's code.
    return { refusal: badCallback('This sign-in answer came back to the wrong place. Please start again.') };
  }
  // setIfAbsent makes the transaction single-use even when the same callback arrives twice at once;
  // the marker keeps the interaction's uid for a retry of this callback (see the header).
  if (!tx || !(await deps.store.setIfAbsent(txUsedKey(deps, state), deps.sealing.seal({ uid: tx.uid }), TX_TTL_MS))) {
    const used = await deps.store.get<unknown>(txUsedKey(deps, state));
    const uid = typeof used === 'string' ? deps.sealing.open<{ uid: string }>(used)?.uid : undefined;
    return {
      refusal: badCallback('This sign-in has expired or was already used. Please start again.'),
      ...(uid === undefined ? {} : { uid }),
    };
  }
  await deps.store.delete(txKey(deps, state));
  return { tx };
}

async function finishInteraction(deps: UpstreamLoginDeps, uid: string, result: object): Promise<string> {
  const interaction = await deps.provider.Interaction.find(uid);
  if (!interaction) throw badCallback('This sign-in took too long and has expired. Please start again.');
  interaction.result = result as typeof interaction.result;
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
  return interaction.returnTo;
}

/** Where "Start again" leads: the app's authorization request, resumed (it asks for a new sign-in). */
async function startAgainUrl(deps: UpstreamLoginDeps, uid: string): Promise<string | undefined> {
  return (await deps.provider.Interaction.find(uid))?.returnTo;
}

function safeMessage(error: unknown): { code?: unknown; message?: unknown } {
  // Upstream errors may carry response bodies (tokens) in `cause`: log only code and message.
  const { code, message } = error as { code?: unknown; message?: unknown };
  return { code, message };
}

export function upstreamLoginRoutes(deps: UpstreamLoginDeps) {
  return async function routes(app: FastifyInstance) {
    for (const upstream of deps.upstreams.list) callbackRoute(app, deps, upstream);
  };
}

function callbackRoute(app: FastifyInstance, deps: UpstreamLoginDeps, upstream: Upstream): void {
  const path = upstream.config.callbackPath;
  const who = { id: upstream.config.id, issuer: upstream.config.issuer };
  app.get(path, { config: { regulation: 'refusable' } }, async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const carried = request.cookies[txCookie(deps.secureCookies)] !== undefined;
    reply.clearCookie(txCookie(deps.secureCookies), { path, secure: deps.secureCookies });
    const taken = await takeTransaction(deps, upstream, request, query['state']);
    if ('refusal' in taken) {
      deps.events?.failed(request, who, 'invalid_state');
      if (carried) await deps.countForgedCallback?.(request);
      return sendError(
        request,
        reply,
        taken.refusal,
        taken.uid === undefined ? undefined : await startAgainUrl(deps, taken.uid),
      );
    }
    const { tx } = taken;

    if (query['error'] !== undefined) {
      // RFC 6749 §4.1.2.1: the upstream refused or failed; tell the app, do not guess.
      request.log.info({ upstreamError: query['error'] }, 'upstream answered the sign-in with an error');
      deps.events?.failed(request, who, 'upstream_refused', String(query['error']).slice(0, 64));
      const returnTo = await finishInteraction(deps, tx.uid, {
        error: 'access_denied',
        error_description: 'The identity provider did not complete the sign-in.',
      });
      return reply.redirect(returnTo, 303);
    }

    const currentUrl = new URL(request.url, deps.issuer);
    const state = query['state'] ?? '';
    let exchange;
    let userinfo;
    let tokens;
    try {
      exchange = await upstream.client.exchangeCode(currentUrl, {
        state,
        codeVerifier: tx.codeVerifier,
        nonce: tx.nonce,
      });
      const idTokenSub = exchange.idTokenClaims?.['sub'];
      // A 401 at userinfo refreshes once with the code grant's refresh token (upstream-tokens.ts).
      ({ userinfo, tokens } = await upstream.vault.userinfoAtSignIn(
        exchange.tokens,
        typeof idTokenSub === 'string' ? idTokenSub : undefined,
        state,
      ));
    } catch (error) {
      if (error instanceof UpstreamLinkGoneError) {
        // The upstream refused its own fresh access token and no refresh could replace it (none
        // given, or refused): say so, with a way to start again, rather than a bare 502.
        request.log.warn({ reason: error.message }, 'upstream refused its own access token at sign-in');
        deps.events?.failed(request, who, 'upstream_token_refused');
        return sendError(
          request,
          reply,
          new GatewayError('upstream_error', 502, messagesFor('en').upstreamTokenRefused, {
            messageKey: 'upstreamTokenRefused',
          }),
          await startAgainUrl(deps, tx.uid),
        );
      }
      request.log.warn({ err: safeMessage(error) }, 'upstream sign-in could not be verified');
      deps.events?.failed(request, who, 'upstream_unverified');
      return sendError(
        request,
        reply,
        new GatewayError(
          'upstream_error',
          502,
          "The identity provider's answer could not be verified. Please start again.",
        ),
      );
    }

    const upstreamSub = userinfo['sub'];
    if (typeof upstreamSub !== 'string' || upstreamSub.length === 0) {
      deps.events?.failed(request, who, 'no_subject');
      return sendError(
        request,
        reply,
        new GatewayError('upstream_error', 502, 'The identity provider did not say who you are.'),
      );
    }
    const profile = upstreamProfile(userinfo, exchange.idTokenClaims);
    const refusal = checkIdentity(profile, upstream.policy, upstreamMemberships(userinfo, exchange.idTokenClaims));
    if (refusal) {
      request.log.info({ reason: refusal.description, upstream: upstream.config.id }, 'sign-in refused by policy');
      deps.events?.failed(request, who, 'policy', refusal.description);
      return sendError(request, reply, refusal);
    }

    const read = await readGroups(upstream, userinfo, exchange.idTokenClaims, profile.email, request.log);
    const account = await resolveAccount(
      deps.store,
      { iss: upstream.config.issuer, sub: upstreamSub, id: upstream.config.id },
      profile,
      deps.reservedUsernames,
      read,
    );
    if (account.disabledAt !== undefined) {
      // An operator disabled the account (npx gateway users disable): no session is made.
      request.log.info({ sub: account.sub, upstream: upstream.config.id }, 'sign-in refused: account disabled');
      deps.events?.failed(request, who, 'policy', 'account disabled');
      return sendError(
        request,
        reply,
        new GatewayError('access_denied', 403, messagesFor('en').refusedAccountDisabled, {
          messageKey: 'refusedAccountDisabled',
        }),
      );
    }
    const stored = await upstream.vault.load(account.sub);
    const refreshToken = tokens.refresh_token ?? stored?.refresh_token;
    await upstream.vault.save(account.sub, {
      ...tokens,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
      // A linked account has an identity at each upstream: re-checks confirm this one here.
      subject: upstreamSub,
    });
    // (A GitHub OAuth App's token never expires and has no refresh token: nothing to ask for;
    // Naver's consent screen gives no refresh token that its first did not.)
    if (!refreshToken && !tx.forcedConsent && upstream.config.type !== 'github' && upstream.config.type !== 'naver') {
      // Google gives a refresh token only on first consent: ask once more, with prompt=consent.
      return beginUpstreamLogin(deps, reply, {
        upstream,
        uid: tx.uid,
        forceConsent: true,
        loginHint: profile.email,
      });
    }

    const returnTo = await finishInteraction(deps, tx.uid, {
      // The session records the upstream it was signed in through (`upstream:<id>` in its `amr`):
      // an account linked to several upstreams may have sessions through each.
      // `ts` is when the user signed in here, not when the browser comes back to resume: a disable
      // in between must end this session too (account-store.ts, sessionEndedByDisable).
      login: {
        accountId: account.sub,
        remember: true,
        amr: signInAmr(upstream.config.id),
        ts: Math.floor(Date.now() / 1000),
      },
    });
    deps.events?.succeeded(request, who, account.sub);
    return reply.redirect(returnTo, 303);
  });
}

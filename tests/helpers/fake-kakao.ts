/**
 * A stand-in for Kakao Login with OpenID Connect enabled: kauth.kakao.com (discovery,
 * authorization, token, JWKS) and kapi.kakao.com (the OIDC userinfo endpoint) as two `node:http`
 * servers on 127.0.0.1, since the real hosts are unreachable from these machines.
 *
 * What Kakao does (its developer docs and DevTalk answers), kept here:
 * - discovery at `/.well-known/openid-configuration` names kauth as the issuer but puts userinfo
 *   on the other host (`https://kapi.kakao.com/v1/oidc/userinfo`); it publishes only
 *   client_secret_post, `code_challenge_methods_supported: ["S256"]` and RS256 ID tokens;
 * - the client_id is the app's REST API key; an unknown one (KOE101) or an unregistered
 *   redirect_uri (KOE006) stops at an error page, never a redirect;
 * - the ID token (only with the `openid` scope) has `iss` = kauth, `aud` = the app key,
 *   `sub` = the Kakao member number as a string, `auth_time`, `nonce`, `nickname`, `picture`,
 *   and `email` only when the user agreed to share it — never `email_verified` (userinfo has it);
 * - the token answer has `token_type: "bearer"` (lower case), `expires_in: 21599` (6 hours) and
 *   `refresh_token_expires_in: 5183999` (2 months). A refresh grant returns a new access token
 *   and ID token, and a new refresh token ONLY when the old one has less than a month left (so
 *   normally none: keep the old one). Pass `refreshTokenLifetimeSeconds` under 30 days to see
 *   the rotation;
 * - token errors are JSON with Kakao's `error_code`: KOE010 (bad client secret, 401), KOE101
 *   (unknown app key, 401), KOE320 (code not found or used, 400), KOE303 (redirect_uri differs
 *   from the authorization request's, 400), KOE322 (refresh token expired or invalid, 400). A
 *   failed PKCE check is answered as KOE320-style `invalid_grant` (the exact code Kakao uses
 *   there is this fake's guess);
 * - kapi answers a bad or expired access token with 401 `{"msg":"this access token does not
 *   exist","code":-401}`; userinfo has `sub`, `nickname`, `picture`, and `email` with
 *   `email_verified` only when the user agreed.
 *
 * Kakao's docs name only client_secret_post; this fake also takes client_secret_basic, as its
 * callers were told to expect. The user is already signed in and has consented: the
 * authorization endpoint answers at once with a 302 carrying `code` and `state`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  bearerToken,
  challengeOf,
  clientCredentials,
  createSigningKey,
  nowSeconds,
  type PendingCode,
  pkceMatches,
  randomToken,
  readParams,
  redirectBack,
  sameSecret,
  sendHtmlError,
  sendJson,
  signJwt,
  startServer,
  stopServer,
} from './fake-oidc-core.ts';

export interface KakaoUser {
  /** The Kakao member number (회원번호). */
  id: number;
  nickname?: string;
  picture?: string;
  email?: string;
  /** Whether Kakao verified the address; true unless set otherwise. */
  emailVerified?: boolean;
  /** The email is shared only when the user agreed on the consent screen. */
  agreedToEmail: boolean;
}

export interface FakeKakao {
  /** Stands for https://kauth.kakao.com (discovery at `${issuer}/.well-known/openid-configuration`). */
  issuer: string;
  /** Stands for https://kapi.kakao.com (a second server). */
  apiUrl: string;
  signInAs(user: KakaoUser): void;
  /** kapi answers 401 to every access token issued so far. */
  expireAccessTokens(): void;
  /** Refresh grants with any refresh token issued so far fail with KOE322. */
  revokeRefreshTokens(): void;
  counters: { authorize: number; token: number; refresh: number; userinfo: number };
  close(): Promise<void>;
}

const ACCESS_TOKEN_SECONDS = 21_599;
const REFRESH_TOKEN_SECONDS = 5_183_999;
const ONE_MONTH_SECONDS = 30 * 24 * 3600;

export async function startFakeKakao(options: {
  client: { id: string; secret: string; redirectUri: string };
  /** Lifetime of refresh tokens (Kakao: 2 months); under a month, every refresh rotates them. */
  refreshTokenLifetimeSeconds?: number;
}): Promise<FakeKakao> {
  const { client } = options;
  const refreshLifetime = options.refreshTokenLifetimeSeconds ?? REFRESH_TOKEN_SECONDS;
  const key = await createSigningKey();
  const codes = new Map<string, PendingCode<KakaoUser>>();
  const accessTokens = new Map<string, { user: KakaoUser; expired: boolean }>();
  const refreshTokens = new Map<
    string,
    { user: KakaoUser; scope: string; authTime: number; expiresAt: number; dead: boolean }
  >();
  const counters = { authorize: 0, token: 0, refresh: 0, userinfo: 0 };
  let current: KakaoUser | undefined;
  let issuer = '';
  let apiUrl = '';

  const kakaoError = (res: ServerResponse, status: number, error: string, description: string, code: string) =>
    sendJson(res, status, { error, error_description: description, error_code: code });

  const idToken = (user: KakaoUser, authTime: number, nonce: string | null) => {
    const iat = nowSeconds();
    const claims: Record<string, unknown> = {
      aud: client.id,
      sub: String(user.id),
      auth_time: authTime,
      iss: issuer,
      exp: iat + ACCESS_TOKEN_SECONDS,
      iat,
    };
    if (nonce !== null) claims['nonce'] = nonce;
    if (user.nickname !== undefined) claims['nickname'] = user.nickname;
    if (user.picture !== undefined) claims['picture'] = user.picture;
    if (user.agreedToEmail && user.email !== undefined) claims['email'] = user.email;
    return signJwt(key, claims);
  };

  const newAccessToken = (user: KakaoUser) => {
    const accessToken = randomToken(40);
    accessTokens.set(accessToken, { user, expired: false });
    return accessToken;
  };
  const newRefreshToken = (user: KakaoUser, scope: string, authTime: number) => {
    const refreshToken = randomToken(40);
    refreshTokens.set(refreshToken, {
      user,
      scope,
      authTime,
      expiresAt: nowSeconds() + refreshLifetime,
      dead: false,
    });
    return refreshToken;
  };

  const token = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    counters.token += 1;
    const params = await readParams(req, url);
    const creds = clientCredentials(req, params);
    if (creds.id !== client.id)
      return kakaoError(res, 401, 'invalid_client', `Not exist client_id [${creds.id ?? ''}]`, 'KOE101');
    if (!sameSecret(creds.secret, client.secret))
      return kakaoError(res, 401, 'invalid_client', 'Bad client credentials', 'KOE010');
    const grantType = params.get('grant_type');
    if (grantType === 'refresh_token') {
      counters.refresh += 1;
      const presented = params.get('refresh_token') ?? '';
      const held = refreshTokens.get(presented);
      if (!held || held.dead || held.expiresAt <= nowSeconds())
        return kakaoError(res, 400, 'invalid_grant', 'expired_or_invalid_refresh_token', 'KOE322');
      const body: Record<string, string | number> = {
        access_token: newAccessToken(held.user),
        token_type: 'bearer',
        expires_in: ACCESS_TOKEN_SECONDS,
      };
      if (held.scope.split(' ').includes('openid')) body['id_token'] = await idToken(held.user, held.authTime, null);
      // Kakao renews the refresh token only in its last month; the old one dies then.
      if (held.expiresAt - nowSeconds() < ONE_MONTH_SECONDS) {
        held.dead = true;
        body['refresh_token'] = newRefreshToken(held.user, held.scope, held.authTime);
        body['refresh_token_expires_in'] = refreshLifetime;
      }
      return sendJson(res, 200, body);
    }
    if (grantType !== 'authorization_code')
      return kakaoError(res, 400, 'unsupported_grant_type', `Unsupported grant type: ${grantType ?? ''}`, 'KOE001');
    const code = params.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code);
    if (!pending)
      return kakaoError(res, 400, 'invalid_grant', `authorization code not found for code=${code}`, 'KOE320');
    if (params.get('redirect_uri') !== pending.redirectUri)
      return kakaoError(res, 400, 'invalid_grant', 'Redirect URI mismatch.', 'KOE303');
    if (
      pending.challenge &&
      !pkceMatches(pending.challenge.value, pending.challenge.method, params.get('code_verifier'))
    )
      return kakaoError(res, 400, 'invalid_grant', 'PKCE verification failed.', 'KOE320');
    const body: Record<string, string | number> = {
      token_type: 'bearer',
      access_token: newAccessToken(pending.user),
      expires_in: ACCESS_TOKEN_SECONDS,
      refresh_token: newRefreshToken(pending.user, pending.scope, pending.authTime),
      refresh_token_expires_in: refreshLifetime,
    };
    if (pending.scope.split(' ').includes('openid')) {
      body['id_token'] = await idToken(pending.user, pending.authTime, pending.nonce);
      body['scope'] = pending.scope;
    }
    sendJson(res, 200, body);
  };

  const kauth = await startServer('fake-kakao-kauth', async (req, res, url) => {
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration')
      return sendJson(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/oauth/authorize`,
        token_endpoint: `${issuer}/oauth/token`,
        userinfo_endpoint: `${apiUrl}/v1/oidc/userinfo`,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        token_endpoint_auth_methods_supported: ['client_secret_post'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        request_uri_parameter_supported: false,
        response_types_supported: ['code'],
        response_modes_supported: ['query'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        code_challenge_methods_supported: ['S256'],
        claims_supported: ['iss', 'aud', 'sub', 'auth_time', 'exp', 'iat', 'nonce', 'nickname', 'picture', 'email'],
      });
    if (req.method === 'GET' && url.pathname === '/.well-known/jwks.json')
      return sendJson(res, 200, { keys: [key.publicJwk] });
    if (req.method === 'GET' && url.pathname === '/oauth/authorize') {
      counters.authorize += 1;
      const q = url.searchParams;
      if (q.get('client_id') !== client.id)
        return sendHtmlError(res, 400, 'KOE101', 'The app key is wrong or the app does not exist.');
      if (q.get('redirect_uri') !== client.redirectUri)
        return sendHtmlError(res, 400, 'KOE006', 'The redirect_uri is not registered for this app.');
      if (!current) throw new Error('fake Kakao: signInAs() first');
      const state = q.get('state');
      if (q.get('response_type') !== 'code')
        return redirectBack(res, client.redirectUri, {
          error: 'invalid_request',
          error_description: `Unsupported response type: ${q.get('response_type') ?? ''}`,
          state,
        });
      const code = randomToken(60);
      codes.set(code, {
        user: current,
        redirectUri: client.redirectUri,
        scope: q.get('scope') ?? '',
        nonce: q.get('nonce'),
        challenge: challengeOf(url),
        authTime: nowSeconds(),
      });
      return redirectBack(res, client.redirectUri, { code, state });
    }
    if (req.method === 'POST' && url.pathname === '/oauth/token') return token(req, res, url);
    sendJson(res, 404, { error: 'not_found' });
  });
  issuer = kauth.url;

  const kapi = await startServer('fake-kakao-kapi', (req, res, url) => {
    if ((req.method === 'GET' || req.method === 'POST') && url.pathname === '/v1/oidc/userinfo') {
      counters.userinfo += 1;
      const held = accessTokens.get(bearerToken(req) ?? '');
      if (!held || held.expired) return sendJson(res, 401, { msg: 'this access token does not exist', code: -401 });
      const { user } = held;
      const info: Record<string, unknown> = { sub: String(user.id) };
      if (user.nickname !== undefined) info['nickname'] = user.nickname;
      if (user.picture !== undefined) info['picture'] = user.picture;
      if (user.agreedToEmail && user.email !== undefined) {
        info['email'] = user.email;
        info['email_verified'] = user.emailVerified ?? true;
      }
      return sendJson(res, 200, info);
    }
    sendJson(res, 404, { msg: 'not found', code: -1 });
  });
  apiUrl = kapi.url;

  return {
    issuer,
    apiUrl,
    counters,
    signInAs(user) {
      current = user;
    },
    expireAccessTokens() {
      for (const held of accessTokens.values()) held.expired = true;
    },
    revokeRefreshTokens() {
      for (const held of refreshTokens.values()) held.dead = true;
    },
    async close() {
      await Promise.all([stopServer(kauth.server), stopServer(kapi.server)]);
    },
  };
}

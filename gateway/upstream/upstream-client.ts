/**
 * The gateway as a relying party toward an upstream OpenID Provider (Google, any provider with
 * discovery, or the development IdP); github-client.ts speaks to GitHub, which has no OIDC.
 *
 * Discovery is lazy and retried: the gateway starts even while the upstream is unreachable, and
 * the first sign-in after it comes back works. The code exchange uses oauth4webapi (the library
 * under openid-client) directly for one reason: Google may answer the token request without an
 * `id_token`, and openid-client decides whether to require one *before* it sees the response
 * (passing `expectedNonce` makes an id_token mandatory; omitting it makes a nonce in the id_token an
 * error). Here we look at the response first, then check the nonce exactly when an id_token came.
 */
import * as client from 'openid-client';
import * as oauth from 'oauth4webapi';
import { isLoopbackHost } from '../../config/url-parsers.ts';

export interface UpstreamSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: readonly string[];
  redirectUri: string;
  /** Plain http allowed (loopback issuers, and the embedded development IdP). */
  allowHttp: boolean;
}

/** The upstream's tokens as the gateway keeps them. */
export interface UpstreamTokens {
  access_token: string;
  refresh_token?: string;
  /** Epoch ms; undefined when the upstream did not say. */
  expires_at?: number;
  scope?: string;
  /**
   * Who these tokens are for at the upstream (its `sub`, or GitHub's id, or Entra's `<tid>:<oid>`):
   * a re-check confirms that same identity. Absent on tokens stored by earlier versions.
   */
  subject?: string;
}

export interface CodeExchangeResult {
  tokens: UpstreamTokens;
  /** The id_token's claims when one came, already checked (iss, aud, exp, nonce). */
  idTokenClaims: Record<string, unknown> | undefined;
}

/** The upstream refused an access token (HTTP 401): the vault refreshes once and retries. */
export class UpstreamUnauthorizedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamUnauthorizedError';
  }
}

/**
 * The upstream answered, but not with the user the tokens were given for, or not with an
 * answer that says who anyone is (a malformed profile, a 4xx other than 401): the identity
 * cannot be confirmed, which ends the grant (unlike an outage, which the app retries).
 */
export class UpstreamIdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamIdentityError';
  }
}

/** A JSON object (not null, not an array). */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The JSON body of a provider's own profile API (GitHub's REST API, Naver's, Microsoft Graph): a
 * 401 is a refused token (the vault refreshes once), a 5xx an outage (the app retries), anything
 * else that is no JSON answer (another 4xx, a body that does not parse) an identity the upstream
 * does not confirm (the grant ends).
 */
export async function profileApiAnswer(response: Response, where: string): Promise<unknown> {
  if (response.status === 401) throw new UpstreamUnauthorizedError(`${where}: the access token was refused`);
  // Busy (429 Too Many Requests, Graph's throttling) or down: an outage, not an answer about the user.
  if (response.status >= 500 || response.status === 429) throw new Error(`${where} answered HTTP ${response.status}`);
  if (!response.ok) throw new UpstreamIdentityError(`${where} answered HTTP ${response.status}`);
  try {
    return await response.json();
  } catch {
    throw new UpstreamIdentityError(`${where} answered something that is not JSON`);
  }
}

/**
 * The groups an API client reads beside the profile (GitHub's teams, Graph's memberships), or
 * `groupsFailed` when the API would not say them: groups decide no admission, so a failed read is
 * no failed sign-in, and the caller keeps the last known groups (upstream-profile.ts readGroups).
 * A refused token is still the caller's, to refresh it and try again.
 */
export async function groupsOrFailure(
  read: () => Promise<string[]>,
): Promise<{ groups: string[] } | { groupsFailed: string }> {
  try {
    return { groups: await read() };
  } catch (error) {
    if (error instanceof UpstreamUnauthorizedError) throw error;
    return { groupsFailed: (error as Error).message };
  }
}

/** The upstream refused a refresh token for good (OAuth's `invalid_grant`, in its own words). */
export class UpstreamInvalidGrantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamInvalidGrantError';
  }
}

export interface UpstreamClient {
  readonly settings: UpstreamSettings;
  /**
   * Fetches what the client needs before its first call (an OpenID Provider's discovery), once;
   * a failure is retried on the next call. Nothing to fetch for a provider without discovery.
   */
  discover(): Promise<void>;
  authorizationUrl(parameters: Record<string, string>): Promise<URL>;
  /** RFC 6749 §4.1.3 with PKCE (RFC 7636) and state; the nonce is checked when an id_token comes. */
  exchangeCode(
    callbackUrl: URL,
    checks: { state: string; codeVerifier: string; nonce: string },
  ): Promise<CodeExchangeResult>;
  /** OIDC Core §5.3; `expectedSub` pins the subject (§5.3.2: it must match the id_token's). */
  userinfo(accessToken: string, expectedSub: string | undefined): Promise<Record<string, unknown>>;
  refresh(refreshToken: string): Promise<UpstreamTokens>;
}

/** The tokens to keep from a token response (a refresh that sends no new refresh token keeps the old). */
export function toTokens(response: oauth.TokenEndpointResponse, previousRefreshToken?: string): UpstreamTokens {
  const refresh = response.refresh_token ?? previousRefreshToken;
  return {
    access_token: response.access_token,
    ...(refresh === undefined ? {} : { refresh_token: refresh }),
    ...(typeof response.expires_in === 'number' ? { expires_at: Date.now() + response.expires_in * 1000 } : {}),
    ...(typeof response.scope === 'string' ? { scope: response.scope } : {}),
  };
}

/** oauth4webapi's codes for a userinfo answer that is not the expected user's, or not a profile. */
const IDENTITY_FAILURES = new Set([
  oauth.JSON_ATTRIBUTE_COMPARISON,
  oauth.INVALID_RESPONSE,
  oauth.RESPONSE_IS_NOT_JSON,
  oauth.RESPONSE_IS_NOT_CONFORM,
]);

/** Creates the upstream client; nothing is fetched until first use. */
export function createUpstreamClient(settings: UpstreamSettings): UpstreamClient {
  if (
    settings.issuer.startsWith('http://') &&
    !settings.allowHttp &&
    !isLoopbackHost(new URL(settings.issuer).hostname)
  ) {
    throw new Error('the upstream issuer must use https:// (http:// is accepted on loopback only)');
  }
  let pending: Promise<client.Configuration> | undefined;
  const insecure = settings.issuer.startsWith('http://');

  async function discover(): Promise<client.Configuration> {
    const configuration = await client.discovery(
      new URL(settings.issuer),
      settings.clientId,
      { client_secret: settings.clientSecret },
      client.ClientSecretPost(settings.clientSecret),
      insecure ? { execute: [client.allowInsecureRequests], timeout: 10 } : { timeout: 10 },
    );
    return configuration;
  }

  async function configuration(): Promise<client.Configuration> {
    pending ??= discover().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  }

  return {
    settings,
    async discover() {
      await configuration();
    },

    async authorizationUrl(parameters) {
      return client.buildAuthorizationUrl(await configuration(), {
        redirect_uri: settings.redirectUri,
        scope: settings.scopes.join(' '),
        response_type: 'code',
        ...parameters,
      });
    },

    async exchangeCode(callbackUrl, checks) {
      const config = await configuration();
      const as = config.serverMetadata();
      const oauthClient: oauth.Client = { client_id: settings.clientId };
      const auth = oauth.ClientSecretPost(settings.clientSecret);
      const options = { [oauth.allowInsecureRequests]: insecure, signal: AbortSignal.timeout(10_000) };
      // RFC 9207: validateAuthResponse also checks the `iss` parameter when the upstream sends it.
      const params = oauth.validateAuthResponse(as, oauthClient, callbackUrl.searchParams, checks.state);
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        oauthClient,
        auth,
        params,
        settings.redirectUri,
        checks.codeVerifier,
        options,
      );
      const peek = (await response
        .clone()
        .json()
        .catch(() => ({}))) as { id_token?: unknown };
      const hasIdToken = typeof peek.id_token === 'string';
      const result = await oauth.processAuthorizationCodeResponse(
        as,
        oauthClient,
        response,
        hasIdToken ? { expectedNonce: checks.nonce } : undefined,
      );
      const claims = hasIdToken ? oauth.getValidatedIdTokenClaims(result) : undefined;
      return { tokens: toTokens(result), idTokenClaims: claims ? { ...claims } : undefined };
    },

    async userinfo(accessToken, expectedSub) {
      const config = await configuration();
      try {
        return { ...(await client.fetchUserInfo(config, accessToken, expectedSub ?? client.skipSubjectCheck)) };
      } catch (error) {
        const { cause, code } = error as { cause?: unknown; code?: unknown };
        const status = cause instanceof Response ? cause.status : undefined;
        // A 401 without an RFC 6750 challenge (Kakao answers `{"msg":…,"code":-401}`) is a
        // refused token all the same: the vault refreshes once and retries.
        if (status === 401) throw new UpstreamUnauthorizedError('the upstream refused the access token at userinfo');
        // Another user, or no profile at all (an outage, 5xx, is not this: the app retries that).
        if (IDENTITY_FAILURES.has(String(code)) && (status === undefined || status < 500))
          throw new UpstreamIdentityError(`the upstream's userinfo does not confirm the user (${String(code)})`);
        throw error;
      }
    },

    async refresh(refreshToken) {
      const response = await client.refreshTokenGrant(await configuration(), refreshToken);
      return toTokens(response, refreshToken);
    },
  };
}

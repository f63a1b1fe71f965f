/**
 * Naver Login as an upstream: OAuth 2.0 without OpenID Connect. No discovery, no ID token, no
 * scope parameter (what Naver releases is chosen in its developer console and agreed to by the
 * user), and PKCE not checked (sent anyway: harmless, and right the day Naver checks it). The
 * identity is the profile API, `GET https://openapi.naver.com/v1/nid/me`, inside Naver's envelope
 * `{ resultcode, message, response: { id, email, name, nickname, profile_image } }`, where `id`
 * is Naver's stable, app-scoped user id.
 *
 * What Naver does differently, handled here:
 * - the token endpoint answers errors with HTTP 200 and `{ error, error_description }`, and
 *   `expires_in` as a string ("3600");
 * - a refresh keeps the refresh token (none comes back), and a refused one is `invalid_grant`
 *   (or `invalid_request` naming the refresh token): the link is over;
 * - the profile API answers 401 (`resultcode` "024") to an expired token, which the vault turns
 *   into one refresh and one retry;
 * - there is no `email_verified`, and the address is the one the user agreed to share. A
 *   `@naver.com` address is the Naver account's own mailbox, so it is verified by being the
 *   account; any other is a contact address Naver lets users enter without proof, so it is not
 *   taken at all (no `email` claim): released as unverified it would be trusted by apps that do
 *   not look at `email_verified`, and it could never pass an e-mail-domain rule anyway.
 */
import {
  type CodeExchangeResult,
  type UpstreamClient,
  isRecord,
  profileApiAnswer,
  UpstreamIdentityError,
  UpstreamInvalidGrantError,
  type UpstreamSettings,
  type UpstreamTokens,
} from './upstream-client.ts';

const TIMEOUT_MS = 10_000;

export interface NaverSettings extends UpstreamSettings {
  /** Naver's Open API (https://openapi.naver.com). */
  apiUrl: string;
}

interface NaverTokenAnswer {
  access_token?: unknown;
  refresh_token?: unknown;
  expires_in?: unknown;
  error?: unknown;
  error_description?: unknown;
}

function tokensOf(answer: NaverTokenAnswer, previousRefreshToken?: string): UpstreamTokens {
  if (typeof answer.error === 'string') {
    const description = typeof answer.error_description === 'string' ? `: ${answer.error_description}` : '';
    if (previousRefreshToken !== undefined && (answer.error === 'invalid_grant' || answer.error === 'invalid_request'))
      throw new UpstreamInvalidGrantError(`Naver refused the refresh token (${answer.error})${description}`);
    throw new Error(`Naver refused the token request (${answer.error})${description}`);
  }
  if (typeof answer.access_token !== 'string' || answer.access_token.length === 0)
    throw new Error('Naver answered the token request without an access token');
  const refresh =
    typeof answer.refresh_token === 'string' && answer.refresh_token ? answer.refresh_token : previousRefreshToken;
  const expiresIn = Number(answer.expires_in);
  return {
    access_token: answer.access_token,
    ...(refresh === undefined ? {} : { refresh_token: refresh }),
    ...(Number.isFinite(expiresIn) && expiresIn > 0 ? { expires_at: Date.now() + expiresIn * 1000 } : {}),
  };
}

export function createNaverClient(settings: NaverSettings): UpstreamClient {
  const base = settings.issuer;

  async function tokenRequest(parameters: Record<string, string>, previousRefreshToken?: string) {
    const response = await fetch(`${base}/oauth2.0/token`, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: settings.clientId, client_secret: settings.clientSecret, ...parameters }),
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`Naver's token endpoint answered HTTP ${response.status}`);
    return tokensOf((await response.json()) as NaverTokenAnswer, previousRefreshToken);
  }

  return {
    settings,
    async discover() {},

    async authorizationUrl(parameters) {
      const url = new URL(`${base}/oauth2.0/authorize`);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('client_id', settings.clientId);
      url.searchParams.set('redirect_uri', settings.redirectUri);
      for (const name of ['state', 'code_challenge', 'code_challenge_method']) {
        const value = parameters[name];
        if (value !== undefined) url.searchParams.set(name, value);
      }
      // Naver's way to show its consent screen again (for items the user declined).
      if (parameters['prompt'] === 'consent') url.searchParams.set('auth_type', 'reprompt');
      return url;
    },

    async exchangeCode(callbackUrl, checks): Promise<CodeExchangeResult> {
      const state = callbackUrl.searchParams.get('state');
      const code = callbackUrl.searchParams.get('code');
      if (state !== checks.state) throw new Error('the callback state does not match');
      if (!code) throw new Error('the callback carries no code');
      const tokens = await tokenRequest({
        grant_type: 'authorization_code',
        code,
        state,
        redirect_uri: settings.redirectUri,
        code_verifier: checks.codeVerifier,
      });
      return { tokens, idTokenClaims: undefined };
    },

    async userinfo(accessToken, expectedSub) {
      const response = await fetch(`${settings.apiUrl}/v1/nid/me`, {
        headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const envelope = await profileApiAnswer(response, 'Naver /v1/nid/me');
      const profile = isRecord(envelope) && isRecord(envelope['response']) ? envelope['response'] : undefined;
      if (
        !isRecord(envelope) ||
        envelope['resultcode'] !== '00' ||
        typeof profile?.['id'] !== 'string' ||
        !profile['id']
      )
        throw new UpstreamIdentityError(
          `Naver's profile API answered resultcode ${String(isRecord(envelope) ? envelope['resultcode'] : undefined).slice(0, 16)}`,
        );
      const sub = profile['id'];
      if (expectedSub !== undefined && expectedSub !== sub)
        throw new UpstreamIdentityError('Naver /v1/nid/me is another user');
      const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
      const email = text(profile['email']);
      const own = email?.toLowerCase().endsWith('@naver.com') === true;
      return {
        sub,
        ...(email !== undefined && own ? { email, email_verified: true } : {}),
        name: text(profile['name']) ?? text(profile['nickname']),
        picture: text(profile['profile_image']),
      };
    },

    async refresh(refreshToken) {
      return tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken }, refreshToken);
    },
  };
}

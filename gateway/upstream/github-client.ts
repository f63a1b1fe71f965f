/**
 * GitHub as an upstream: OAuth 2.0 without OpenID Connect. No discovery and no id_token: the
 * identity is `GET /user` (the numeric `id` is the stable subject; the `login` can change), and
 * the e-mail is the primary address of `GET /user/emails` with GitHub's own `verified` flag (the
 * profile's `email` is only the public one, often null).
 *
 * What GitHub does differently, handled here:
 * - the token endpoint answers errors with HTTP 200 and an `error` field, and form-encoded unless
 *   asked for JSON (`Accept: application/json`);
 * - an OAuth App's user token never expires and has no refresh token; a GitHub App's expires
 *   after 8 hours and comes with a refresh token that rotates on each use: both are kept as
 *   given, and the vault refreshes only what can be refreshed;
 * - the API wants a User-Agent, and answers 401 `Bad credentials` to an expired token, which the
 *   vault turns into one refresh and one retry, as for an OpenID Provider's userinfo;
 * - PKCE (S256) is sent: GitHub checks it when given;
 * - organization membership (for `allowed_orgs`) is `GET /user/orgs`, which lists private
 *   memberships only with the `read:org` scope; lists come in pages linked by `Link` headers.
 *
 * `base_url` is github.com's web origin or a GitHub Enterprise Server's; the API is at
 * api.github.com for the former and `<base_url>/api/v3` for the latter.
 */
import {
  type CodeExchangeResult,
  groupsOrFailure,
  type UpstreamClient,
  isRecord,
  profileApiAnswer,
  UpstreamIdentityError,
  UpstreamInvalidGrantError,
  type UpstreamSettings,
  type UpstreamTokens,
} from './upstream-client.ts';

const TIMEOUT_MS = 10_000;
const USER_AGENT = 'gateway (OAuth upstream client)';

/** Pages of a list read at most (100 items each). */
const MAX_LIST_PAGES = 10;

/** Organization logins, lower-cased (GitHub ignores their case). */
function orgNames(listed: unknown[]): string[] {
  return listed
    .map((org) => (isRecord(org) ? org['login'] : undefined))
    .filter((name): name is string => typeof name === 'string')
    .map((name) => name.toLowerCase());
}

/** The `rel="next"` URL of a Link header (RFC 8288), when it is on the API's own origin. */
export function nextPage(link: string | null, api: string): string | undefined {
  for (const part of (link ?? '').split(',')) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (!match?.[1] || !/(?:^|;)\s*rel="?next"?\s*(?:;|$)/i.test(match[2] ?? '')) continue;
    try {
      const next = new URL(match[1], api);
      return next.origin === new URL(api).origin && next.href.startsWith(api) ? next.href : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Where the REST API is: api.github.com for github.com, `<base_url>/api/v3` for an Enterprise Server. */
function githubApiUrl(baseUrl: string): string {
  return new URL(baseUrl).hostname === 'github.com' ? 'https://api.github.com' : `${baseUrl}/api/v3`;
}

interface GitHubTokenAnswer {
  access_token?: unknown;
  refresh_token?: unknown;
  expires_in?: unknown;
  scope?: unknown;
  error?: unknown;
  error_description?: unknown;
}

function tokensOf(answer: GitHubTokenAnswer, previousRefreshToken?: string): UpstreamTokens {
  if (typeof answer.error === 'string') {
    const description = typeof answer.error_description === 'string' ? `: ${answer.error_description}` : '';
    // `bad_refresh_token` is GitHub's invalid_grant: the link is over.
    if (answer.error === 'bad_refresh_token')
      throw new UpstreamInvalidGrantError(`GitHub refused the refresh token${description}`);
    throw new Error(`GitHub refused the token request (${answer.error})${description}`);
  }
  if (typeof answer.access_token !== 'string' || answer.access_token.length === 0)
    throw new Error('GitHub answered the token request without an access token');
  const refresh =
    typeof answer.refresh_token === 'string' && answer.refresh_token ? answer.refresh_token : previousRefreshToken;
  return {
    access_token: answer.access_token,
    ...(refresh === undefined ? {} : { refresh_token: refresh }),
    ...(typeof answer.expires_in === 'number' ? { expires_at: Date.now() + answer.expires_in * 1000 } : {}),
    ...(typeof answer.scope === 'string' ? { scope: answer.scope } : {}),
  };
}

export interface GitHubSettings extends UpstreamSettings {
  baseUrl: string;
  /** List the user's organizations (`GET /user/orgs`) for an `allowed_orgs` rule. */
  withOrgs?: boolean;
  /** Release the user's organizations and teams (`GET /user/teams`) as groups. */
  withGroups?: boolean;
}

export function createGitHubClient(settings: GitHubSettings): UpstreamClient {
  const base = settings.baseUrl;
  const api = githubApiUrl(base);

  async function tokenRequest(
    parameters: Record<string, string>,
    previousRefreshToken?: string,
  ): Promise<UpstreamTokens> {
    const response = await fetch(`${base}/login/oauth/access_token`, {
      method: 'POST',
      headers: {
        accept: 'application/json',
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': USER_AGENT,
      },
      body: new URLSearchParams({ client_id: settings.clientId, client_secret: settings.clientSecret, ...parameters }),
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`GitHub's token endpoint answered HTTP ${response.status}`);
    return tokensOf((await response.json()) as GitHubTokenAnswer, previousRefreshToken);
  }

  const apiFetch = (url: string, accessToken: string) =>
    fetch(url, {
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${accessToken}`,
        'user-agent': USER_AGENT,
        'x-github-api-version': '2022-11-28',
      },
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });

  async function apiGet(path: string, accessToken: string): Promise<unknown> {
    return profileApiAnswer(await apiFetch(`${api}${path}`, accessToken), `GitHub ${path.split('?')[0]}`);
  }

  /**
   * Every page of a list (`/user/orgs`, `/user/teams`: 100 per page at most), following the
   * `Link: <…>; rel="next"` GitHub sends, never to another origin than the API's (the token goes
   * with each request), at most MAX_LIST_PAGES pages.
   */
  async function apiList(path: string, accessToken: string): Promise<unknown[]> {
    const where = `GitHub ${path.split('?')[0]}`;
    const items: unknown[] = [];
    let url: string | undefined = `${api}${path}`;
    for (let page = 0; url !== undefined && page < MAX_LIST_PAGES; page += 1) {
      const response = await apiFetch(url, accessToken);
      const answer = await profileApiAnswer(response, where);
      if (!Array.isArray(answer)) throw new UpstreamIdentityError(`${where} is not a list`);
      items.push(...answer);
      url = nextPage(response.headers.get('link'), api);
    }
    return items;
  }

  /** The organizations and teams (`org:team`, by slug) released as groups (groupsOrFailure). */
  const readGroups = (accessToken: string, orgs: string[] | undefined) =>
    groupsOrFailure(async () => {
      const memberOf = orgs ?? orgNames(await apiList('/user/orgs?per_page=100', accessToken));
      const teams = (await apiList('/user/teams?per_page=100', accessToken))
        .map((team: unknown) => {
          const org = isRecord(team) && isRecord(team['organization']) ? team['organization']['login'] : undefined;
          const slug = isRecord(team) ? team['slug'] : undefined;
          return typeof org === 'string' && typeof slug === 'string' ? `${org}:${slug}`.toLowerCase() : undefined;
        })
        .filter((name): name is string => name !== undefined);
      return [...memberOf, ...teams];
    });

  return {
    settings,
    async discover() {},

    async authorizationUrl(parameters) {
      const url = new URL(`${base}/login/oauth/authorize`);
      url.searchParams.set('client_id', settings.clientId);
      url.searchParams.set('redirect_uri', settings.redirectUri);
      url.searchParams.set('scope', settings.scopes.join(' '));
      // GitHub takes no nonce, access_type, prompt or hd: only what it documents.
      for (const name of ['state', 'code_challenge', 'code_challenge_method', 'login'] as const) {
        const value = name === 'login' ? parameters['login_hint'] : parameters[name];
        if (value !== undefined) url.searchParams.set(name, value);
      }
      return url;
    },

    async exchangeCode(callbackUrl, checks): Promise<CodeExchangeResult> {
      const state = callbackUrl.searchParams.get('state');
      const code = callbackUrl.searchParams.get('code');
      if (state !== checks.state) throw new Error('the callback state does not match');
      if (!code) throw new Error('the callback carries no code');
      const tokens = await tokenRequest({
        code,
        redirect_uri: settings.redirectUri,
        code_verifier: checks.codeVerifier,
      });
      return { tokens, idTokenClaims: undefined };
    },

    async userinfo(accessToken, expectedSub) {
      const user = await apiGet('/user', accessToken);
      if (!isRecord(user)) throw new UpstreamIdentityError('GitHub /user is not a user');
      if (!Number.isSafeInteger(user['id']) || (user['id'] as number) <= 0)
        throw new UpstreamIdentityError('GitHub /user has no numeric id');
      const sub = String(user['id']);
      if (expectedSub !== undefined && expectedSub !== sub)
        throw new UpstreamIdentityError('GitHub /user is another user');
      // The verified primary address, from /user/emails (the `user:email` scope); none if not shared.
      // None without the scope (a 403 or 404): no address; an outage stays an outage (503).
      const emails = (await apiGet('/user/emails', accessToken).catch((error: unknown) => {
        if (error instanceof UpstreamIdentityError) return [];
        throw error;
      })) as unknown;
      const primary = Array.isArray(emails)
        ? (emails as { email?: unknown; primary?: unknown; verified?: unknown }[]).find(
            (e) => isRecord(e) && e.primary === true,
          )
        : undefined;
      const login = typeof user['login'] === 'string' ? user['login'] : undefined;
      // Private memberships are listed only with read:org (added by the config when allowed_orgs is set).
      // For an allowed_orgs rule the list decides admission, so its failure fails the check.
      const orgs = settings.withOrgs ? orgNames(await apiList('/user/orgs?per_page=100', accessToken)) : undefined;
      const groups = settings.withGroups ? await readGroups(accessToken, orgs) : undefined;
      return {
        sub,
        ...(orgs === undefined ? {} : { orgs }),
        ...groups,
        ...(typeof primary?.email === 'string'
          ? { email: primary.email, email_verified: primary.verified === true }
          : {}),
        name: typeof user['name'] === 'string' && user['name'] ? user['name'] : login,
        picture: user['avatar_url'],
      };
    },

    async refresh(refreshToken) {
      return tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken }, refreshToken);
    },
  };
}

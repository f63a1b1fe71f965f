/**
 * A stand-in for GitHub as an OAuth 2.0 provider (github.com is unreachable from these
 * machines), behaving as GitHub documents and does: no OpenID Connect (no discovery, no
 * id_token), the web flow at /login/oauth/authorize and /login/oauth/access_token, the REST API
 * under /api/v3 (GitHub Enterprise Server's layout; github.com puts it at api.github.com).
 *
 * What GitHub does that a generic client trips on, kept here:
 * - the token endpoint answers form-encoded unless asked for JSON, and answers errors with
 *   HTTP 200 and an `error` field (`bad_verification_code`, `incorrect_client_credentials`,
 *   `redirect_uri_mismatch`, `bad_refresh_token`);
 * - an OAuth App's user token never expires and comes without a refresh token; a GitHub App's
 *   expires after 8 hours (`expires_in: 28800`) with a refresh token that rotates on each use;
 * - the API refuses a request without a User-Agent (403) and an unknown or expired token with
 *   401 `Bad credentials`;
 * - `GET /user` has the numeric `id` (stable) and `login` (which the user can change), and an
 *   `email` that is only the public one, often null; the verified addresses are at
 *   `GET /user/emails`, which needs the `user:email` scope;
 * - PKCE (S256) is checked when the authorization request carried a challenge.
 *
 * The user is already signed in at this GitHub and has authorized the app: the authorization
 * endpoint answers at once with a code for whoever `signInAs` named.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitHubUser {
  id: number;
  login: string;
  name?: string | null;
  /** The public address on the profile (null when the user keeps it private). */
  email?: string | null;
  emails: { email: string; primary: boolean; verified: boolean }[];
  /** Organizations the user is a member of (GET /user/orgs). */
  orgs?: string[];
  /** Teams the user is a member of, as `org:team-slug` (GET /user/teams). */
  teams?: string[];
}

export interface FakeGitHub {
  /** The web origin (base_url of a `github` upstream). */
  url: string;
  /** The user the next authorization signs in. */
  signInAs(user: GitHubUser): void;
  /** Makes every access token issued so far expire now (API calls answer 401). */
  expireAccessTokens(): void;
  counters: { authorize: number; token: number; refresh: number; user: number; emails: number };
  /**
   * What no healthy GitHub sends, for the gateway's error handling: the API path (e.g.
   * `/api/v3/user/emails`) answers this status, or with `body` as given, until cleared.
   */
  misbehave: Map<string, { status: number; body: string }>;
  close(): Promise<void>;
}

interface Grant {
  user: GitHubUser;
  scope: string;
  redirectUri: string;
  challenge: string | undefined;
}

export async function startFakeGitHub(options: {
  client: { id: string; secret: string; redirectUri: string };
  /** A GitHub App with expiring user tokens (8 h, rotating refresh tokens); else an OAuth App. */
  expiring?: boolean;
  /** Items per page of a list at most, below GitHub's 100, so that tests see several pages. */
  pageSize?: number;
}): Promise<FakeGitHub> {
  const codes = new Map<string, Grant>();
  const accessTokens = new Map<string, { user: GitHubUser; scope: string; expired: boolean }>();
  const refreshTokens = new Map<string, { user: GitHubUser; scope: string }>();
  const counters = { authorize: 0, token: 0, refresh: 0, user: 0, emails: 0 };
  let current: GitHubUser | undefined;
  const misbehave = new Map<string, { status: number; body: string }>();

  /**
   * One page of a list as GitHub pages it: `per_page` (30 by default, 100 at most) from `page`
   * (1-based), with a `Link` header naming the next and last pages by absolute URL.
   */
  const paged = (res: ServerResponse, url: URL, items: unknown[]) => {
    const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30) || 30, 100, options.pageSize ?? 100);
    const page = Math.max(Number(url.searchParams.get('page') ?? 1) || 1, 1);
    const last = Math.max(Math.ceil(items.length / perPage), 1);
    const at = (n: number) => {
      const link = new URL(url.href);
      link.searchParams.set('page', String(n));
      return link.href;
    };
    if (page < last) res.setHeader('link', `<${at(page + 1)}>; rel="next", <${at(last)}>; rel="last"`);
    json(res, 200, items.slice((page - 1) * perPage, page * perPage));
  };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  /** The token endpoint's answer: JSON when asked for it, else form-encoded (GitHub's default). */
  const tokenAnswer = (req: IncomingMessage, res: ServerResponse, body: Record<string, string | number>) => {
    if ((req.headers.accept ?? '').includes('application/json')) return json(res, 200, body);
    res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
    res.end(new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)])).toString());
  };
  const issue = (user: GitHubUser, scope: string): Record<string, string | number> => {
    const accessToken = `gh${options.expiring ? 'u' : 'o'}_${randomBytes(18).toString('hex')}`;
    accessTokens.set(accessToken, { user, scope, expired: false });
    if (!options.expiring) return { access_token: accessToken, token_type: 'bearer', scope };
    const refreshToken = `ghr_${randomBytes(30).toString('hex')}`;
    refreshTokens.set(refreshToken, { user, scope });
    return {
      access_token: accessToken,
      expires_in: 28_800,
      refresh_token: refreshToken,
      refresh_token_expires_in: 15_897_600,
      token_type: 'bearer',
      scope: '',
    };
  };
  const readBody = async (req: IncomingMessage) => {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    if ((req.headers['content-type'] ?? '').includes('application/json'))
      return new URLSearchParams(JSON.parse(text) as Record<string, string>);
    return new URLSearchParams(text);
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'fake-github'}`);
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      counters.authorize += 1;
      const redirectUri = url.searchParams.get('redirect_uri') ?? options.client.redirectUri;
      if (url.searchParams.get('client_id') !== options.client.id || redirectUri !== options.client.redirectUri) {
        res.writeHead(404, { 'content-type': 'text/html' });
        res.end('<p>The redirect_uri is not associated with this application.</p>');
        return;
      }
      if (!current) throw new Error('fake GitHub: signInAs() first');
      const code = randomBytes(10).toString('hex');
      const method = url.searchParams.get('code_challenge_method');
      codes.set(code, {
        user: current,
        scope: url.searchParams.get('scope') ?? '',
        redirectUri,
        challenge: method === 'S256' ? (url.searchParams.get('code_challenge') ?? undefined) : undefined,
      });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      const state = url.searchParams.get('state');
      if (state !== null) back.searchParams.set('state', state);
      res.writeHead(302, { location: back.href });
      res.end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      counters.token += 1;
      const form = await readBody(req);
      if (form.get('client_id') !== options.client.id || form.get('client_secret') !== options.client.secret)
        return tokenAnswer(req, res, {
          error: 'incorrect_client_credentials',
          error_description: 'The client_id and/or client_secret passed are incorrect.',
        });
      if (form.get('grant_type') === 'refresh_token') {
        counters.refresh += 1;
        const old = refreshTokens.get(form.get('refresh_token') ?? '');
        if (!old)
          return tokenAnswer(req, res, {
            error: 'bad_refresh_token',
            error_description: 'The refresh token passed is incorrect or expired.',
          });
        refreshTokens.delete(form.get('refresh_token') ?? ''); // rotates
        return tokenAnswer(req, res, issue(old.user, old.scope));
      }
      const grant = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      if (!grant)
        return tokenAnswer(req, res, {
          error: 'bad_verification_code',
          error_description: 'The code passed is incorrect or expired.',
        });
      if (form.has('redirect_uri') && form.get('redirect_uri') !== grant.redirectUri)
        return tokenAnswer(req, res, {
          error: 'redirect_uri_mismatch',
          error_description: 'The redirect_uri MUST match the registered callback URL for this application.',
        });
      if (grant.challenge !== undefined) {
        const verifier = form.get('code_verifier') ?? '';
        if (createHash('sha256').update(verifier).digest('base64url') !== grant.challenge)
          return tokenAnswer(req, res, {
            error: 'bad_verification_code',
            error_description: 'The code_verifier does not match.',
          });
      }
      return tokenAnswer(req, res, issue(grant.user, grant.scope));
    }
    const misbehaving = misbehave.get(url.pathname);
    if (misbehaving) {
      res.writeHead(misbehaving.status, { 'content-type': 'text/html' });
      res.end(misbehaving.body);
      return;
    }
    if (url.pathname.startsWith('/api/v3/')) {
      if (!req.headers['user-agent'])
        return json(res, 403, {
          message: 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header',
        });
      const token = /^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
      const held = accessTokens.get(token);
      if (!held || held.expired)
        return json(res, 401, {
          message: 'Bad credentials',
          documentation_url: 'https://docs.github.com/rest',
          status: '401',
        });
      const { user } = held;
      if (url.pathname === '/api/v3/user') {
        counters.user += 1;
        return json(res, 200, {
          login: user.login,
          id: user.id,
          node_id: `U_${user.id}`,
          avatar_url: `https://avatars.githubusercontent.com/u/${user.id}?v=4`,
          type: 'User',
          name: user.name ?? null,
          email: user.email ?? null,
        });
      }
      if (url.pathname === '/api/v3/user/emails') {
        counters.emails += 1;
        if (!held.scope.split(/[ ,]/).includes('user:email') && !options.expiring)
          return json(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
        return json(
          res,
          200,
          user.emails.map((e) => ({ ...e, visibility: e.primary ? 'private' : null })),
        );
      }
      if (url.pathname === '/api/v3/user/teams')
        return paged(
          res,
          url,
          (user.teams ?? []).map((team, i) => {
            const [org = '', slug = ''] = team.split(':');
            return { id: 2000 + i, slug, name: slug, organization: { login: org, id: 1000 + i } };
          }),
        );
      if (url.pathname === '/api/v3/user/orgs')
        return paged(
          res,
          url,
          (user.orgs ?? []).map((login, i) => ({ login, id: 1000 + i })),
        );
    }
    json(res, 404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counters,
    misbehave,
    signInAs(user) {
      current = user;
    },
    expireAccessTokens() {
      for (const held of accessTokens.values()) held.expired = true;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * GitHub as an upstream (`type: github`), against a fake that behaves as GitHub does (OAuth 2.0
 * without OpenID Connect: no discovery, no id_token, errors with HTTP 200, the identity from
 * `GET /user` and the verified address from `GET /user/emails`). An app signs in through the
 * gateway with openid-client and gets an ordinary OpenID Connect sign-in with a stable `sub`.
 * Both kinds of GitHub client: an OAuth App (a token that never expires, no refresh token) and a
 * GitHub App with expiring user tokens (8 h, refresh tokens that rotate).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { createBrowser } from './helpers/browser.ts';
import { type FakeGitHub, type GitHubUser, startFakeGitHub } from './helpers/fake-github.ts';
import { confidentialClient, discoverApp, redeem, startAuthorization, type TestApp } from './helpers/relying-party.ts';
import { freePort, startGateway, type StartedGateway } from './helpers/start-gateway.ts';

const octocat: GitHubUser = {
  id: 583231,
  login: 'octocat',
  name: 'The Octocat',
  email: null, // kept private on the profile: only /user/emails has it
  emails: [
    { email: 'octo@old.example', primary: false, verified: true },
    { email: 'Octocat@GitHub.example', primary: true, verified: true },
  ],
};

for (const kind of ['OAuth App', 'GitHub App'] as const) {
  describe(`GitHub as an upstream (${kind})`, () => {
    let gw: StartedGateway;
    let github: FakeGitHub;
    let app: TestApp;
    const meta = confidentialClient('gh-app');

    before(async () => {
      const port = await freePort();
      const issuer = `http://127.0.0.1:${port}`;
      github = await startFakeGitHub({
        client: { id: 'gh-client', secret: 'gh-secret', redirectUri: `${issuer}/upstream/github/callback` },
        expiring: kind === 'GitHub App',
      });
      gw = await startGateway({
        port,
        clients: [meta],
        env: {
          UPSTREAM_CLIENT_ID: '',
          UPSTREAM_CLIENT_SECRET: '',
          GATEWAY_UPSTREAM_RECHECK_INTERVAL: '0',
          GATEWAY_UPSTREAMS: JSON.stringify([
            { id: 'github', type: 'github', base_url: github.url, client_id: 'gh-client', client_secret: 'gh-secret' },
          ]),
        },
      });
      app = await discoverApp(gw.issuer, meta);
    });
    after(async () => {
      await gw?.close();
      await github?.close();
    });

    /** Signs `user` in at the fake GitHub through the gateway; the app's token response, or the page it stopped at. */
    async function signIn(user: GitHubUser) {
      github.signInAs(user);
      const browser = createBrowser();
      const start = await startAuthorization(app);
      const hop = await browser.follow(start.url, (url) => url.href.startsWith(meta.redirect_uris[0] ?? ''));
      if (!hop.location) return { page: hop.response };
      return { tokens: await redeem(app, start, hop.location) };
    }

    it('signs a GitHub user in with their verified primary address and a stable sub', async () => {
      const authorizations = github.counters.authorize;
      const { tokens } = await signIn(octocat);
      assert.ok(tokens, 'signed in');
      assert.equal(github.counters.authorize, authorizations + 1, 'one trip to GitHub: no second consent asked');
      const claims = tokens.claims();
      assert.equal(claims?.['email'], 'octocat@github.example');
      assert.equal(claims?.['email_verified'], true);
      assert.equal(claims?.['name'], 'The Octocat');
      assert.equal(claims?.['preferred_username'], 'octocat');
      // The same GitHub account again, even renamed: the same gateway account (GitHub's id, not the login).
      const again = await signIn({ ...octocat, login: 'octocat-renamed' });
      assert.equal(again.tokens?.claims()?.sub, claims?.sub);
    });

    it('refuses an address GitHub has not verified, and says so', async () => {
      const { page, tokens } = await signIn({
        id: 9001,
        login: 'unverified',
        emails: [{ email: 'new@unverified.example', primary: true, verified: false }],
      });
      assert.equal(tokens, undefined);
      assert.equal(page?.status, 403);
      assert.match(await (page?.text() ?? Promise.resolve('')), /not verified|unverified/i);
    });

    it("re-checks the user at GitHub on the app's refresh, refreshing GitHub's token when it has expired", async () => {
      const { tokens } = await signIn({ ...octocat, id: 4242, login: 'rechecked' });
      assert.ok(tokens?.refresh_token);
      const users = github.counters.user;
      const first = await client.refreshTokenGrant(app.config, tokens.refresh_token);
      assert.equal(github.counters.user, users + 1, 'GET /user on the refresh');

      github.expireAccessTokens();
      const refreshes = github.counters.refresh;
      const refreshed = client.refreshTokenGrant(app.config, first.refresh_token ?? '');
      if (kind === 'GitHub App') {
        // 401 Bad credentials → one refresh at GitHub (its refresh token rotates) → one retry.
        await refreshed;
        assert.equal(github.counters.refresh, refreshes + 1);
      } else {
        // An OAuth App's token does not expire; revoked (401) with no refresh token, the link is over.
        await assert.rejects(refreshed, (error: unknown) => (error as { error?: string }).error === 'invalid_grant');
        assert.equal(github.counters.refresh, refreshes);
      }
    });

    it('tells an outage (503, the grant lives) from an answer that confirms no one (invalid_grant)', async () => {
      const { tokens } = await signIn({ ...octocat, id: 5151, login: 'outage' });
      assert.ok(tokens?.refresh_token);
      /** The OAuth error of a refresh: from its body (400), or from the response openid-client keeps (503). */
      const errorOf = (promise: Promise<unknown>) =>
        promise.then(
          () => 'ok',
          async (error: unknown) => {
            const { error: code, cause } = error as { error?: string; cause?: unknown };
            if (code) return code;
            if (cause instanceof Response)
              return `${cause.status} ${((await cause.json()) as { error?: string }).error}`;
            return String(error);
          },
        );
      github.misbehave.set('/api/v3/user/emails', { status: 502, body: '<h1>Bad gateway</h1>' });
      assert.equal(
        await errorOf(client.refreshTokenGrant(app.config, tokens.refresh_token)),
        '503 temporarily_unavailable',
      );
      github.misbehave.clear();
      const after = await client.refreshTokenGrant(app.config, tokens.refresh_token);
      assert.ok(after.access_token, 'the same refresh token works once GitHub is back');
      github.misbehave.set('/api/v3/user', { status: 200, body: '<html>not the API</html>' });
      assert.equal(await errorOf(client.refreshTokenGrant(app.config, after.refresh_token ?? '')), 'invalid_grant');
      github.misbehave.clear();
    });
  });
}

describe('GitHub as an upstream with allowed_orgs', () => {
  let gw: StartedGateway;
  let github: FakeGitHub;
  let app: TestApp;
  const meta = confidentialClient('gh-orgs-app');

  before(async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    github = await startFakeGitHub({
      client: { id: 'gh-client', secret: 'gh-secret', redirectUri: `${issuer}/upstream/contractors/callback` },
    });
    gw = await startGateway({
      port,
      clients: [meta],
      env: {
        UPSTREAM_CLIENT_ID: '',
        UPSTREAM_CLIENT_SECRET: '',
        GATEWAY_UPSTREAMS: JSON.stringify([
          {
            id: 'contractors',
            type: 'github',
            base_url: github.url,
            client_id: 'gh-client',
            client_secret: 'gh-secret',
            allowed_orgs: ['Acme-Contractors'],
          },
        ]),
      },
    });
    app = await discoverApp(gw.issuer, meta);
  });
  after(async () => {
    await gw?.close();
    await github?.close();
  });

  it('admits members of an allowed organization (any case), and refuses others naming the rule', async () => {
    const signInAs = async (user: GitHubUser) => {
      github.signInAs(user);
      const start = await startAuthorization(app);
      const hop = await createBrowser().follow(start.url, (url) => url.href.startsWith(meta.redirect_uris[0] ?? ''));
      return hop.location ? { tokens: await redeem(app, start, hop.location) } : { page: hop.response };
    };
    const member = await signInAs({ ...octocat, id: 700, login: 'member', orgs: ['acme-contractors', 'other'] });
    assert.ok(member.tokens, 'a member signs in');
    const outsider = await signInAs({ ...octocat, id: 701, login: 'outsider', orgs: ['acme'] });
    assert.equal(outsider.tokens, undefined);
    assert.equal(outsider.page?.status, 403);
    assert.match(await (outsider.page?.text() ?? Promise.resolve('')), /not a member of an organisation allowed/);
  });
});

describe('GitHub organizations and teams as groups (groups: true)', () => {
  let gw: StartedGateway;
  let github: FakeGitHub;
  let app: TestApp;
  const meta = confidentialClient('gh-groups-app');

  before(async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    // Two items a page, so that every list takes GitHub's `Link: rel="next"` pages to read.
    github = await startFakeGitHub({
      client: { id: 'gh-client', secret: 'gh-secret', redirectUri: `${issuer}/upstream/contractors/callback` },
      pageSize: 2,
    });
    gw = await startGateway({
      port,
      clients: [meta],
      env: {
        UPSTREAM_CLIENT_ID: '',
        UPSTREAM_CLIENT_SECRET: '',
        GATEWAY_UPSTREAM_RECHECK_INTERVAL: '0',
        GATEWAY_UPSTREAMS: JSON.stringify([
          {
            id: 'contractors',
            type: 'github',
            base_url: github.url,
            client_id: 'gh-client',
            client_secret: 'gh-secret',
            groups: true,
          },
        ]),
      },
    });
    app = await discoverApp(gw.issuer, meta);
  });
  after(async () => {
    await gw?.close();
    await github?.close();
  });

  const groupsOf = (tokens: { id_token?: string }) =>
    (
      JSON.parse(Buffer.from((tokens.id_token ?? '').split('.')[1] ?? '', 'base64url').toString()) as {
        groups?: string[];
      }
    ).groups;

  it('reads every page of the organizations and teams, and keeps the last known through a failing list', async () => {
    github.signInAs({
      ...octocat,
      id: 900,
      login: 'paged',
      orgs: ['Acme', 'b', 'c', 'd', 'e'],
      teams: ['acme:infra', 'acme:web', 'b:ops'],
    });
    const start = await startAuthorization(app, { scope: 'openid email groups' });
    const hop = await createBrowser().follow(start.url, (url) => url.href.startsWith(meta.redirect_uris[0] ?? ''));
    assert.ok(hop.location, 'signed in');
    const tokens = await redeem(app, start, hop.location);
    const all = [
      'contractors:acme',
      'contractors:b',
      'contractors:c',
      'contractors:d',
      'contractors:e',
      'contractors:acme:infra',
      'contractors:acme:web',
      'contractors:b:ops',
    ];
    assert.deepEqual(groupsOf(tokens), all, 'five organizations on three pages, three teams on two');

    // GitHub's teams list fails: the refresh (re-checked at GitHub) goes on with the groups it had.
    github.misbehave.set('/api/v3/user/teams', { status: 502, body: '<h1>Bad gateway</h1>' });
    const during = await client.refreshTokenGrant(app.config, tokens.refresh_token ?? '');
    assert.deepEqual(groupsOf(during), all);
    github.misbehave.clear();
  });
});

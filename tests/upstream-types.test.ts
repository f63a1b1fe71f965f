/**
 * Microsoft Entra ID, GitLab, Kakao and Naver as upstreams (`GATEWAY_UPSTREAMS` types), each
 * against a fake that behaves as the real one does (tests/helpers/fake-*.ts), through a real
 * gateway to an app using openid-client: the sign-in, the identity each type vouches for, its
 * policy (tenants, groups, e-mail that may be missing) with refusals that name the rule, and the
 * app's refresh re-checking the user at the upstream, refreshing the upstream token on 401.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { createBrowser } from './helpers/browser.ts';
import { type FakeGitLab, type GitLabUser, startFakeGitLab } from './helpers/fake-gitlab.ts';
import { type FakeKakao, type KakaoUser, startFakeKakao } from './helpers/fake-kakao.ts';
import { type FakeMicrosoft, type MicrosoftUser, startFakeMicrosoft } from './helpers/fake-microsoft.ts';
import { type FakeNaver, type NaverUser, startFakeNaver } from './helpers/fake-naver.ts';
import { confidentialClient, discoverApp, redeem, startAuthorization, type TestApp } from './helpers/relying-party.ts';
import { freePort, startGateway } from './helpers/start-gateway.ts';

const TENANT = '4f1c7d0e-2b5a-4c8e-9d3f-0a6b8c2e4d71';
const OTHER_TENANT = 'b7e2a9c4-6d1f-4e3a-8b5c-1f9d0e7a3c62';

/** A gateway with one upstream of `entry`, and an app of it; `fake` stops with it. */
async function gatewayWith(
  entry: (issuer: string) => Promise<{ upstream: Record<string, unknown>; close: () => Promise<void> }>,
) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const made = await entry(issuer);
  const meta = confidentialClient('types-app');
  const gw = await startGateway({
    port,
    clients: [meta],
    env: {
      UPSTREAM_CLIENT_ID: '',
      UPSTREAM_CLIENT_SECRET: '',
      // Every refresh re-checks the user at the upstream: what the refresh tests look at.
      GATEWAY_UPSTREAM_RECHECK_INTERVAL: '0',
      GATEWAY_UPSTREAMS: JSON.stringify([{ client_id: 'gw', client_secret: 'gw-secret', ...made.upstream }]),
    },
  });
  const app = await discoverApp(gw.issuer, meta);
  /** A browser sign-in as whoever the fake signs in next: the app's tokens, or the page it stopped at. */
  const signIn = async (parameters: Record<string, string> = {}) => {
    const start = await startAuthorization(app, parameters);
    const hop = await createBrowser().follow(start.url, (url) => url.href.startsWith(meta.redirect_uris[0] ?? ''));
    if (!hop.location) return { page: hop.response, text: (await hop.response?.text()) ?? '' };
    return { tokens: await redeem(app, start, hop.location) };
  };
  return {
    gw,
    app,
    signIn,
    close: async () => {
      await gw.close();
      await made.close();
    },
  };
}

const client_ = { id: 'gw', secret: 'gw-secret' };
const refresh = (
  app: TestApp,
  token: string | undefined,
): Promise<client.TokenEndpointResponse & client.TokenEndpointResponseHelpers> =>
  client.refreshTokenGrant(app.config, token ?? '');
const isInvalidGrant = (error: unknown) => (error as { error?: string }).error === 'invalid_grant';

describe('Microsoft Entra ID as an upstream (organizations, with allowed tenants)', () => {
  let ms: FakeMicrosoft;
  let setup: Awaited<ReturnType<typeof gatewayWith>>;
  const ada: MicrosoftUser = {
    oid: '0d6f4b1e-8a2c-4e7f-9b3d-5c1a7e9f2b40',
    tid: TENANT,
    name: 'Ada Lovelace',
    preferred_username: 'ada@contoso.example',
    email: 'Ada@Contoso.example',
    // The tenant has verified the address's domain (an optional claim the app registration adds).
    xms_edov: true,
  };

  before(async () => {
    setup = await gatewayWith(async (issuer) => {
      ms = await startFakeMicrosoft({ client: { ...client_, redirectUri: `${issuer}/upstream/entra/callback` } });
      return {
        upstream: {
          id: 'entra',
          type: 'microsoft',
          tenant: 'organizations',
          allowed_tenants: [TENANT],
          base_url: ms.authority,
          graph_url: ms.graphUrl,
        },
        close: () => ms.close(),
      };
    });
  });
  after(async () => setup?.close());

  it('signs a user of an allowed tenant in, keyed by tenant and object id, with an address Entra vouches for', async () => {
    ms.signInAs(ada);
    const { tokens } = await setup.signIn();
    assert.ok(tokens, 'signed in');
    const claims = tokens.claims();
    assert.equal(claims?.['email'], 'ada@contoso.example');
    assert.equal(claims?.['email_verified'], true, 'no email_verified from Entra: xms_edov vouches');
    assert.equal(claims?.['name'], 'Ada Lovelace');
    assert.equal(claims?.['preferred_username'], 'ada');
    assert.deepEqual(claims?.['amr'], ['fed', 'upstream:entra'], 'the ID token names the upstream');
    // The same person after the app registration changed (a new pairwise `sub` at Entra): the
    // gateway keys on oid and tid, so the same account.
    const account = await setup.gw.app.gateway.store.get<{ upstream: { sub: string } }>(`account:${claims?.sub}`);
    assert.equal(account?.upstream.sub, `${TENANT}:${ada.oid}`);
    ms.signInAs({ ...ada, name: 'Ada King' });
    assert.equal((await setup.signIn()).tokens?.claims()?.sub, claims?.sub);
  });

  it('refuses a user of another tenant, naming the rule; and takes no address Entra does not vouch for', async () => {
    ms.signInAs({ ...ada, oid: '7a3e9c1b-4d2f-4b8a-a6e0-3f5c8d1b9e27', tid: OTHER_TENANT });
    const other = await setup.signIn();
    assert.equal(other.tokens, undefined);
    assert.equal(other.page?.status, 403);
    assert.match(other.text ?? '', /Entra ID tenant/);
    // A partner tenant's administrator can set any address: without xms_edov (or with it false)
    // the address is not taken, so it can meet no e-mail rule or e-mail-based group.
    for (const [oid, edov] of [
      ['2c8b5e7a-1f3d-4a9c-8e6b-7d0f2a4c6e18', false],
      ['3d9c6f8b-2a4e-4b0d-9f7c-8e1a3b5d7f29', undefined],
    ] as const) {
      const { xms_edov: _, ...rest } = ada;
      ms.signInAs({ ...rest, oid, email: 'boss@example.com', ...(edov === undefined ? {} : { xms_edov: edov }) });
      const unvouched = await setup.signIn();
      assert.ok(unvouched.tokens, 'signed in');
      assert.equal(unvouched.tokens.claims()?.['email'], undefined, `xms_edov ${edov}: no address`);
    }
  });

  it('signs in a user without an address (the optional claim not configured)', async () => {
    ms.signInAs({
      oid: '5e1a3c7d-9b2f-4e6a-8c0d-1f3b5a7c9e42',
      tid: TENANT,
      name: 'No Mail',
      preferred_username: 'nomail@contoso.example',
    });
    const { tokens } = await setup.signIn();
    assert.ok(tokens, 'signed in');
    assert.equal(tokens.claims()?.['email'], undefined);
  });

  it("re-checks the user at Graph on the app's refresh, refreshing Entra's rotating token on 401, and ends with a revoked grant", async () => {
    ms.signInAs({ ...ada, oid: '9f2d4b6a-3c1e-4a7b-9d8f-6e0a2c4b8d13', email: 'grace@contoso.example' });
    const { tokens } = await setup.signIn();
    assert.ok(tokens?.refresh_token);
    const me = ms.counters.me;
    const first = await refresh(setup.app, tokens.refresh_token);
    assert.equal(ms.counters.me, me + 1, 'Graph /me on the refresh');
    assert.equal(first.claims()?.['email'], 'grace@contoso.example', 'the address kept (Graph does not vouch for it)');

    ms.expireAccessTokens();
    const refreshes = ms.counters.refresh;
    const second = await refresh(setup.app, first.refresh_token);
    assert.equal(ms.counters.refresh, refreshes + 1, 'one refresh at Entra, then the retry');
    assert.ok(second.access_token);

    ms.expireAccessTokens();
    ms.revokeRefreshTokens();
    await assert.rejects(refresh(setup.app, second.refresh_token), isInvalidGrant);
  });
});

describe("Microsoft Entra ID as an upstream (one tenant, the operator's own)", () => {
  let ms: FakeMicrosoft;
  let setup: Awaited<ReturnType<typeof gatewayWith>>;
  before(async () => {
    setup = await gatewayWith(async (issuer) => {
      ms = await startFakeMicrosoft({ client: { ...client_, redirectUri: `${issuer}/upstream/corp/callback` } });
      return {
        upstream: {
          id: 'corp',
          type: 'microsoft',
          tenant: TENANT,
          base_url: ms.authority,
          graph_url: ms.graphUrl,
          // Group object ids from Graph (never the ID token's claim, cut off past 200 groups).
          groups: true,
        },
        close: () => ms.close(),
      };
    });
  });
  after(async () => setup?.close());

  it('releases the groups Graph lists (any number: no ID-token overage) as corp:<object id>', async () => {
    const many = Array.from({ length: 250 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const member: MicrosoftUser = {
      oid: '8c1e3a5b-7d9f-4b2c-a4e6-0f8b2d4c6a19',
      tid: TENANT,
      name: 'Grouped',
      preferred_username: 'grouped@contoso.example',
      groups: many,
    };
    ms.signInAs(member);
    const { tokens } = await setup.signIn({ scope: 'openid groups' });
    const groups = tokens?.claims()?.['groups'] as string[] | undefined;
    assert.equal(groups?.length, 200, "all that fit the gateway's own bound of 200 per upstream");
    assert.equal(groups?.[0], `corp:${many[0]}`);
    // Graph throttles the group read: the refresh goes on with the groups last read (a while).
    ms.throttleMemberObjects = true;
    let throttled: Awaited<ReturnType<typeof refresh>>;
    try {
      throttled = await refresh(setup.app, tokens?.refresh_token);
      assert.equal((throttled.claims()?.['groups'] as string[] | undefined)?.length, 200);
    } finally {
      ms.throttleMemberObjects = false;
    }
    // Removed from every group: the next refresh (re-checked at Graph) says so.
    member.groups = [];
    const refreshed = await refresh(setup.app, throttled.refresh_token);
    assert.equal(refreshed.claims()?.['groups'], undefined);
  });

  it("takes the address of the operator's own tenant without xms_edov (its administrators are the operator's)", async () => {
    ms.signInAs({
      oid: '6b0e2d4f-8a1c-4e3b-9d5f-2c7a9e1b3d58',
      tid: TENANT,
      name: 'Own Staff',
      preferred_username: 'staff@contoso.example',
      email: 'staff@contoso.example',
    });
    const { tokens } = await setup.signIn();
    assert.equal(tokens?.claims()?.['email'], 'staff@contoso.example');
    assert.equal(tokens?.claims()?.['email_verified'], true);
  });
});

describe('GitLab as an upstream (allowed_groups)', () => {
  let gitlab: FakeGitLab;
  let setup: Awaited<ReturnType<typeof gatewayWith>>;
  const dev: GitLabUser = {
    id: 31,
    username: 'dev',
    name: 'Dev One',
    email: 'dev@corp.example',
    emailVerified: true,
    groups: ['acme/platform'],
  };

  before(async () => {
    setup = await gatewayWith(async (issuer) => {
      gitlab = await startFakeGitLab({ client: { ...client_, redirectUri: `${issuer}/upstream/gitlab/callback` } });
      return {
        upstream: { id: 'gitlab', type: 'gitlab', issuer: gitlab.issuer, allowed_groups: ['Acme'] },
        close: () => gitlab.close(),
      };
    });
  });
  after(async () => setup?.close());

  it('admits members of an allowed group or its subgroups, and refuses others naming the rule', async () => {
    gitlab.signInAs(dev);
    const member = await setup.signIn();
    assert.ok(member.tokens, 'a member of acme/platform is in acme');
    assert.equal(member.tokens.claims()?.['email'], 'dev@corp.example');
    gitlab.signInAs({ ...dev, id: 32, username: 'outsider', groups: ['acme-other', 'other/acme'] });
    const outsider = await setup.signIn();
    assert.equal(outsider.page?.status, 403);
    assert.match(outsider.text ?? '', /GitLab account is not a member of a group/);
  });

  it('releases the GitLab groups, named after the upstream, in the ID token and userinfo with scope groups', async () => {
    gitlab.signInAs({
      ...dev,
      id: 36,
      username: 'grouped',
      email: 'grouped@corp.example',
      // A name with a comma would read as two in X-Auth-Request-Groups: not taken.
      groups: ['Acme/Platform', 'acme/ops', 'x,ops'],
    });
    const { tokens } = await setup.signIn({ scope: 'openid email groups' });
    assert.deepEqual(tokens?.claims()?.['groups'], ['gitlab:acme/platform', 'gitlab:acme/ops']);
    const info = await client.fetchUserInfo(
      setup.app.config,
      tokens?.access_token ?? '',
      String(tokens?.claims()?.sub),
    );
    assert.deepEqual(info['groups'], ['gitlab:acme/platform', 'gitlab:acme/ops']);
    const without = await setup.signIn({ scope: 'openid email' });
    assert.equal(without.tokens?.claims()?.['groups'], undefined, 'not without the scope');
  });

  it("re-checks the group at each refresh, refreshing GitLab's rotating token on 401", async () => {
    const mover: GitLabUser = { ...dev, id: 33, username: 'mover', email: 'mover@corp.example' };
    gitlab.signInAs(mover);
    const { tokens } = await setup.signIn();
    assert.ok(tokens?.refresh_token);
    gitlab.expireAccessTokens();
    const refreshes = gitlab.counters.refresh;
    const next = await refresh(setup.app, tokens.refresh_token);
    assert.equal(gitlab.counters.refresh, refreshes + 1);
    assert.equal(next.claims()?.['email'], 'mover@corp.example');
    // The address removed at GitLab (the fake's userinfo reads the user as it is now): the
    // gateway stops vouching for it at the next refresh.
    mover.email = undefined;
    const withoutAddress = await refresh(setup.app, next.refresh_token);
    assert.equal(withoutAddress.claims()?.['email'], undefined, 'an address the upstream no longer gives is dropped');
    // Removed from the group: the next refresh ends the app's grant.
    mover.groups = [];
    await assert.rejects(refresh(setup.app, withoutAddress.refresh_token), isInvalidGrant);
  });
  it('ends the grant, rather than answering 503, when userinfo names another user', async () => {
    const shifty: GitLabUser = { ...dev, id: 34, username: 'shifty', email: 'shifty@corp.example' };
    gitlab.signInAs(shifty);
    const { tokens } = await setup.signIn();
    assert.ok(tokens?.refresh_token);
    shifty.id = 35; // the fake's userinfo now says `sub: "35"` for this token
    await assert.rejects(refresh(setup.app, tokens.refresh_token), isInvalidGrant);
  });
});

describe('Kakao as an upstream (e-mail only when the user agreed)', () => {
  let kakao: FakeKakao;
  let setup: Awaited<ReturnType<typeof gatewayWith>>;
  const minsu: KakaoUser = {
    id: 2_345_678_901,
    nickname: '민수',
    email: 'minsu@kakao.example',
    emailVerified: true,
    agreedToEmail: true,
  };

  before(async () => {
    const kakaoEntry = (extra: Record<string, unknown>) => async (issuer: string) => {
      kakao ??= await startFakeKakao({ client: { ...client_, redirectUri: `${issuer}/upstream/kakao/callback` } });
      return { upstream: { id: 'kakao', type: 'kakao', issuer: kakao.issuer, ...extra }, close: async () => {} };
    };
    setup = await gatewayWith(kakaoEntry({}));
  });
  after(async () => {
    await setup?.close();
    await kakao?.close();
  });

  it('signs in with the agreed address, and without one when the user did not agree', async () => {
    kakao.signInAs(minsu);
    const agreed = await setup.signIn();
    assert.ok(agreed.tokens, 'signed in');
    assert.equal(agreed.tokens.claims()?.['email'], 'minsu@kakao.example');
    assert.equal(agreed.tokens.claims()?.['name'], '민수', "Kakao's nickname as the name");
    kakao.signInAs({ id: 3_456_789_012, nickname: '지은', agreedToEmail: false, email: 'jieun@kakao.example' });
    const declined = await setup.signIn();
    assert.ok(declined.tokens, 'a missing address is normal at Kakao');
    assert.equal(declined.tokens.claims()?.['email'], undefined);
    assert.ok(declined.tokens.claims()?.['preferred_username'], 'a user name all the same');
  });

  it('refreshes on a 401 without a challenge (Kakao answers {"code":-401})', async () => {
    kakao.signInAs({ ...minsu, id: 4_567_890_123, email: 'refresh@kakao.example' });
    const { tokens } = await setup.signIn();
    assert.ok(tokens?.refresh_token);
    kakao.expireAccessTokens();
    const refreshes = kakao.counters.refresh;
    await refresh(setup.app, tokens.refresh_token);
    assert.equal(kakao.counters.refresh, refreshes + 1);
  });
});

describe('Kakao with an e-mail-domain rule', () => {
  let kakao: FakeKakao;
  let setup: Awaited<ReturnType<typeof gatewayWith>>;
  before(async () => {
    setup = await gatewayWith(async (issuer) => {
      kakao = await startFakeKakao({ client: { ...client_, redirectUri: `${issuer}/upstream/kakao/callback` } });
      return {
        upstream: { id: 'kakao', type: 'kakao', issuer: kakao.issuer, allowed_email_domains: ['corp.example'] },
        close: () => kakao.close(),
      };
    });
  });
  after(async () => setup?.close());

  it('refuses a user who did not share an address, saying it was not shared', async () => {
    kakao.signInAs({ id: 5_678_901_234, nickname: '하늘', agreedToEmail: false, email: 'sky@corp.example' });
    const declined = await setup.signIn();
    assert.equal(declined.page?.status, 403);
    assert.match(declined.text ?? '', /did not share your e-mail address/);
    kakao.signInAs({
      id: 5_678_901_235,
      nickname: '바다',
      agreedToEmail: true,
      emailVerified: true,
      email: 'sea@corp.example',
    });
    assert.ok((await setup.signIn()).tokens, 'a shared address of the domain passes');
  });
});

describe('Naver as an upstream (OAuth 2.0, the profile in an envelope)', () => {
  let naver: FakeNaver;
  let setup: Awaited<ReturnType<typeof gatewayWith>>;
  before(async () => {
    setup = await gatewayWith(async (issuer) => {
      naver = await startFakeNaver({ client: { ...client_, redirectUri: `${issuer}/upstream/naver/callback` } });
      return {
        upstream: { id: 'naver', type: 'naver', base_url: naver.nidUrl, api_url: naver.apiUrl },
        close: () => naver.close(),
      };
    });
  });
  after(async () => setup?.close());

  it("signs in with Naver's id; a @naver.com address is the account's own, a contact address is not taken", async () => {
    const user: NaverUser = { id: 'x3kQ9vT2mB', email: 'yuna@naver.com', name: '김유나', nickname: 'yuna' };
    naver.signInAs(user);
    const own = await setup.signIn();
    assert.ok(own.tokens, 'signed in');
    assert.equal(own.tokens.claims()?.['email'], 'yuna@naver.com');
    assert.equal(own.tokens.claims()?.['email_verified'], true);
    assert.equal(own.tokens.claims()?.['name'], '김유나');
    naver.signInAs({ ...user, email: 'yuna@contact.example' });
    const contact = await setup.signIn();
    assert.equal(contact.tokens?.claims()?.sub, own.tokens.claims()?.sub, 'the same Naver id: the same account');
    naver.signInAs({ id: 'p8Rz4LwQ1n', email: 'other@contact.example', nickname: 'other' });
    const unproven = await setup.signIn();
    assert.equal(unproven.tokens?.claims()?.['email'], undefined, 'an unproven contact address is not released');
  });

  it("refreshes Naver's token on 401 (the refresh token kept, expires_in a string), then ends on a revoked one", async () => {
    naver.signInAs({ id: 'r5Tn2KpX8w', email: 'refresh@naver.com', nickname: 'r' });
    const { tokens } = await setup.signIn();
    assert.ok(tokens?.refresh_token);
    naver.expireAccessTokens();
    const refreshes = naver.counters.refresh;
    const next = await refresh(setup.app, tokens.refresh_token);
    assert.equal(naver.counters.refresh, refreshes + 1);
    naver.expireAccessTokens();
    const again = await refresh(setup.app, next.refresh_token);
    assert.equal(naver.counters.refresh, refreshes + 2, 'the kept refresh token still works');
    naver.expireAccessTokens();
    naver.revokeRefreshTokens();
    await assert.rejects(refresh(setup.app, again.refresh_token), isInvalidGrant);
  });
});

describe('an upstream that cannot be reached at sign-in', () => {
  let setup: Awaited<ReturnType<typeof gatewayWith>>;
  before(async () => {
    const nobody = await freePort(); // nothing listens there
    setup = await gatewayWith(async () => ({
      upstream: { id: 'down', type: 'gitlab', name: 'Our GitLab', issuer: `http://127.0.0.1:${nobody}` },
      close: async () => {},
    }));
  });
  after(async () => setup?.close());

  it('answers 503 naming the provider, with a page rather than a 500', async () => {
    const { page, text } = await setup.signIn();
    assert.equal(page?.status, 503);
    assert.match(text ?? '', /Our GitLab cannot be reached right now/);
  });
});

/**
 * The fake Microsoft, Kakao, GitLab and Naver (tests/helpers/fake-*.ts) behave as their headers
 * say the real providers do: the ways other tests rely on when they put them behind the gateway.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { type FakeGitLab, startFakeGitLab } from './helpers/fake-gitlab.ts';
import { type FakeKakao, startFakeKakao } from './helpers/fake-kakao.ts';
import { CONSUMERS_TENANT, type FakeMicrosoft, startFakeMicrosoft } from './helpers/fake-microsoft.ts';
import { type FakeNaver, startFakeNaver } from './helpers/fake-naver.ts';

type Json = Record<string, unknown>;
const CLIENT = { id: 'app-1234', secret: 's3cret/with+chars', redirectUri: 'http://127.0.0.1:9/callback' };
const AUTHZ = { client_id: CLIENT.id, redirect_uri: CLIENT.redirectUri, response_type: 'code' };
const CREDS = { client_id: CLIENT.id, client_secret: CLIENT.secret };
const TENANT = 'aaaaaaaa-1111-4222-8333-bbbbbbbbbbbb';

/** Follows the authorization URL like a signed-in browser: returns where its 302 points. */
async function authorize(url: string, params: Record<string, string>): Promise<URL> {
  const response = await fetch(`${url}?${new URLSearchParams(params)}`, { redirect: 'manual' });
  assert.equal(response.status, 302, `authorization at ${url} answered ${response.status}`);
  return new URL(response.headers.get('location') ?? '');
}
async function call(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, body: (await response.json()) as Json };
}
const getJson = (url: string, token?: string) =>
  call(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
const postForm = (url: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  call(url, { method: 'POST', body: new URLSearchParams(form), headers });
const str = (value: unknown): string => {
  assert.equal(typeof value, 'string');
  return value as string;
};
async function pkce() {
  const verifier = client.randomPKCECodeVerifier();
  return { verifier, challenge: await client.calculatePKCECodeChallenge(verifier) };
}
/** Authorizes with PKCE S256 and redeems the code with client_secret_post (or `verifier` instead). */
async function codeGrant(authzUrl: string, tokenUrl: string, params: Record<string, string>, verifier?: string) {
  const pair = await pkce();
  const challenge = { code_challenge: pair.challenge, code_challenge_method: 'S256' };
  const back = await authorize(authzUrl, { ...AUTHZ, state: 'st', ...params, ...challenge });
  const code = str(back.searchParams.get('code'));
  const form = { grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirectUri, ...CREDS };
  return { back, ...(await postForm(tokenUrl, { ...form, code_verifier: verifier ?? pair.verifier })) };
}

describe('the fake Microsoft Entra ID and Graph', () => {
  let ms: FakeMicrosoft;
  const ada = { oid: 'oid-ada', tid: TENANT, name: 'Ada Lovelace', preferred_username: 'ada@contoso.example' };
  before(async () => {
    ms = await startFakeMicrosoft({ client: CLIENT });
  });
  after(() => ms.close());
  const at = (tenant: string, path: string) => `${ms.authority}/${tenant}/${path}`;
  const signIn = (tenant: string, scope = 'openid profile email offline_access') =>
    codeGrant(at(tenant, 'oauth2/v2.0/authorize'), at(tenant, 'oauth2/v2.0/token'), { scope, nonce: 'n-1' });

  it('publishes the {tenantid} issuer template for organizations, and the MSA tenant for consumers', async () => {
    const orgs = (await getJson(`${ms.authority}/organizations/v2.0/.well-known/openid-configuration`)).body;
    assert.equal(orgs['issuer'], `${ms.authority}/{tenantid}/v2.0`);
    assert.equal(orgs['token_endpoint'], `${ms.authority}/organizations/oauth2/v2.0/token`);
    assert.equal(orgs['userinfo_endpoint'], `${ms.graphUrl}/oidc/userinfo`);
    assert.equal(orgs['code_challenge_methods_supported'], undefined);
    const consumers = (await getJson(`${ms.authority}/consumers/v2.0/.well-known/openid-configuration`)).body;
    assert.equal(consumers['issuer'], `${ms.authority}/${CONSUMERS_TENANT}/v2.0`);
  });

  it("signs an ID token whose iss is the user's tenant, with a pairwise sub and no email_verified", async () => {
    ms.signInAs(ada);
    const { back, status, body } = await signIn('organizations');
    assert.deepEqual([...back.searchParams.keys()].sort(), ['code', 'state']);
    assert.equal(status, 200);
    assert.deepEqual([body['expires_in'], body['ext_expires_in']], [3599, 3599]);
    assert.equal(body['scope'], 'openid profile email User.Read offline_access');
    const keys = (await getJson(`${ms.authority}/organizations/discovery/v2.0/keys`)).body as unknown as JSONWebKeySet;
    const expected = { issuer: `${ms.authority}/${TENANT}/v2.0`, audience: CLIENT.id };
    const { payload } = await jwtVerify(str(body['id_token']), createLocalJWKSet(keys), expected);
    const { ver, tid, oid, nonce } = payload;
    assert.deepEqual([ver, tid, oid, nonce], ['2.0', TENANT, 'oid-ada', 'n-1']);
    assert.notEqual(payload.sub, 'oid-ada');
    for (const absent of ['email', 'email_verified', 'xms_edov']) assert.equal(absent in payload, false, absent);
    const info = await getJson(`${ms.graphUrl}/oidc/userinfo`, str(body['access_token']));
    assert.equal(info.body['sub'], payload.sub);
  });

  it('sends a user of another tenant back with AADSTS50020', async () => {
    ms.signInAs({ oid: 'o-b', tid: CONSUMERS_TENANT, preferred_username: 'b@o.example', email: 'b@o.example' });
    for (const tenant of ['organizations', TENANT]) {
      const back = await authorize(`${ms.authority}/${tenant}/oauth2/v2.0/authorize`, { ...AUTHZ, scope: 'openid' });
      assert.equal(back.searchParams.get('error'), 'invalid_request');
      assert.match(back.searchParams.get('error_description') ?? '', /^AADSTS50020:/);
      assert.equal(back.searchParams.get('code'), null);
    }
    const { body } = await signIn('consumers', 'openid');
    const claims = decodeJwt(str(body['id_token']));
    assert.deepEqual([claims.iss, claims['email']], [`${ms.authority}/${CONSUMERS_TENANT}/v2.0`, 'b@o.example']);
    assert.equal(body['refresh_token'], undefined, 'no refresh token without offline_access');
  });

  it('rotates refresh tokens and refuses spent or revoked ones with an AADSTS70008 body', async () => {
    ms.signInAs(ada);
    const first = (await signIn(TENANT)).body;
    const authorization = `Basic ${btoa(`${CLIENT.id}:${encodeURIComponent(CLIENT.secret)}`)}`;
    const refresh = (token: unknown) =>
      postForm(
        at(TENANT, 'oauth2/v2.0/token'),
        { grant_type: 'refresh_token', refresh_token: str(token) },
        { authorization },
      );
    const second = await refresh(first['refresh_token']);
    assert.equal(second.status, 200);
    assert.notEqual(second.body['refresh_token'], first['refresh_token']);
    assert.equal(decodeJwt(str(second.body['id_token']))['nonce'], undefined);
    const spent = await refresh(first['refresh_token']);
    assert.deepEqual([spent.status, spent.body['error'], spent.body['error_codes']], [400, 'invalid_grant', [70008]]);
    assert.match(str(spent.body['error_description']), /^AADSTS70008:/);
    for (const field of ['timestamp', 'trace_id', 'correlation_id', 'error_uri']) str(spent.body[field]);
    ms.revokeRefreshTokens();
    assert.equal((await refresh(second.body['refresh_token'])).body['error'], 'invalid_grant');
  });

  it('answers Graph calls until expireAccessTokens, then 401 InvalidAuthenticationToken', async () => {
    ms.signInAs({ ...ada, email: 'ada@contoso.example' });
    const token = str((await signIn(TENANT)).body['access_token']);
    const me = (await getJson(`${ms.graphUrl}/v1.0/me`, token)).body;
    const mail = 'ada@contoso.example';
    assert.deepEqual([me['id'], me['mail'], me['userPrincipalName']], ['oid-ada', mail, ada.preferred_username]);
    ms.expireAccessTokens();
    const refused = await getJson(`${ms.graphUrl}/v1.0/me`, token);
    assert.equal(refused.status, 401);
    assert.equal(
      refused.headers.get('www-authenticate'),
      'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
    );
    const error = refused.body['error'] as Json;
    assert.equal(error['code'], 'InvalidAuthenticationToken');
    assert.equal(error['message'], 'Access token has expired or is not yet valid.');
  });
});

describe('the fake Kakao', () => {
  let kakao: FakeKakao;
  let config: client.Configuration;
  before(async () => {
    kakao = await startFakeKakao({ client: CLIENT });
    const execute = [client.allowInsecureRequests];
    config = await client.discovery(new URL(kakao.issuer), CLIENT.id, CLIENT.secret, undefined, { execute });
  });
  after(() => kakao.close());

  async function codeFlow() {
    const { verifier, challenge } = await pkce();
    const [state, nonce] = [client.randomState(), client.randomNonce()];
    const checks = { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce };
    const params = { redirect_uri: CLIENT.redirectUri, scope: 'openid', state, nonce };
    const url = client.buildAuthorizationUrl(config, {
      ...params,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const back = await authorize(`${url.origin}${url.pathname}`, Object.fromEntries(url.searchParams));
    return client.authorizationCodeGrant(config, back, checks);
  }

  it('carries openid-client through discovery, code, ID token, userinfo and refresh', async () => {
    assert.equal(config.serverMetadata().userinfo_endpoint, `${kakao.apiUrl}/v1/oidc/userinfo`);
    kakao.signInAs({ id: 4242, nickname: '라이언', email: 'ryan@kakao.example', agreedToEmail: false });
    const tokens = await codeFlow();
    const claims = tokens.claims()!;
    assert.deepEqual([claims.sub, claims['nickname'], tokens.expires_in], ['4242', '라이언', 21_599]);
    assert.equal(claims['email'], undefined, 'not shared without the user agreeing');
    assert.equal((await client.fetchUserInfo(config, tokens.access_token, '4242')).email, undefined);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    assert.equal(refreshed.refresh_token, undefined, 'Kakao renews refresh tokens only in their last month');
    assert.notEqual(refreshed.access_token, tokens.access_token);
  });

  it('shares the verified email once agreed, and refuses expired tokens with -401', async () => {
    kakao.signInAs({ id: 7, email: 'apeach@kakao.example', agreedToEmail: true });
    const tokens = await codeFlow();
    assert.equal(tokens.claims()!['email'], 'apeach@kakao.example');
    const info = await client.fetchUserInfo(config, tokens.access_token, '7');
    assert.deepEqual([info.email, info.email_verified], ['apeach@kakao.example', true]);
    kakao.expireAccessTokens();
    const refused = await getJson(`${kakao.apiUrl}/v1/oidc/userinfo`, tokens.access_token);
    assert.deepEqual([refused.status, refused.body], [401, { msg: 'this access token does not exist', code: -401 }]);
    kakao.revokeRefreshTokens();
    const form = { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, ...CREDS };
    const spent = await postForm(`${kakao.issuer}/oauth/token`, form);
    assert.deepEqual([spent.status, spent.body['error'], spent.body['error_code']], [400, 'invalid_grant', 'KOE322']);
  });
});

describe('the fake GitLab', () => {
  let gitlab: FakeGitLab;
  before(async () => {
    gitlab = await startFakeGitLab({ client: CLIENT });
    gitlab.signInAs({ id: 31, username: 'grace', email: 'grace@example.org', groups: ['acme', 'acme/platform'] });
  });
  after(() => gitlab.close());

  it('signs in with groups, rotates refresh tokens and refuses an expired token the Doorkeeper way', async () => {
    const [authz, tokenUrl] = [`${gitlab.issuer}/oauth/authorize`, `${gitlab.issuer}/oauth/token`];
    const params = { scope: 'openid profile email' };
    const wrong = await codeGrant(authz, tokenUrl, params, (await pkce()).verifier);
    assert.deepEqual([wrong.status, wrong.body['error']], [400, 'invalid_grant']);
    const { status, body } = await codeGrant(authz, tokenUrl, params);
    assert.deepEqual([status, body['expires_in'], body['token_type']], [200, 7200, 'Bearer']);
    const idToken = decodeJwt(str(body['id_token']));
    assert.deepEqual([idToken.iss, idToken.sub, idToken['preferred_username']], [gitlab.issuer, '31', 'grace']);
    assert.deepEqual(idToken['groups_direct'], ['acme', 'acme/platform']);
    const info = (await getJson(`${gitlab.issuer}/oauth/userinfo`, str(body['access_token']))).body;
    const expected = [['acme', 'acme/platform'], 'grace@example.org', true];
    assert.deepEqual([info['groups'], info['email'], info['email_verified']], expected);
    const refresh = (token: unknown) =>
      postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: str(token), ...CREDS });
    const next = await refresh(body['refresh_token']);
    assert.equal(next.status, 200);
    assert.notEqual(next.body['refresh_token'], body['refresh_token']);
    const spent = await refresh(body['refresh_token']);
    assert.deepEqual([spent.status, spent.body['error']], [400, 'invalid_grant']);
    assert.match(str(spent.body['error_description']), /^The provided authorization grant is invalid, expired/);
    gitlab.expireAccessTokens();
    const refused = await getJson(`${gitlab.issuer}/oauth/userinfo`, str(next.body['access_token']));
    assert.equal(refused.status, 401);
    assert.equal(
      refused.headers.get('www-authenticate'),
      'Bearer realm="Doorkeeper", error="invalid_token", error_description="The access token expired"',
    );
  });
});

describe('the fake Naver', () => {
  let naver: FakeNaver;
  before(async () => {
    naver = await startFakeNaver({ client: CLIENT });
    naver.signInAs({ id: 'x3kQ9w', email: 'kim@naver.example', nickname: '김' });
  });
  after(() => naver.close());

  it('answers tokens with a string expires_in, errors with HTTP 200, and the profile in an envelope', async () => {
    const params = { ...AUTHZ, state: 'st-1', code_challenge: 'ignored', code_challenge_method: 'S256' };
    const back = await authorize(`${naver.nidUrl}/oauth2.0/authorize`, params);
    const code = str(back.searchParams.get('code'));
    const query = new URLSearchParams({ grant_type: 'authorization_code', ...CREDS, code, state: 'st-1' });
    const tokens = (await getJson(`${naver.nidUrl}/oauth2.0/token?${query}`)).body;
    assert.deepEqual([tokens['expires_in'], tokens['token_type'], tokens['id_token']], ['3600', 'bearer', undefined]);
    const reused = await getJson(`${naver.nidUrl}/oauth2.0/token?${query}`);
    const noSession = { error: 'invalid_request', error_description: 'no valid data in session' };
    assert.deepEqual([reused.status, reused.body], [200, noSession]);
    const me = (await getJson(`${naver.apiUrl}/v1/nid/me`, str(tokens['access_token']))).body;
    const response = { id: 'x3kQ9w', nickname: '김', email: 'kim@naver.example' };
    assert.deepEqual(me, { resultcode: '00', message: 'success', response });

    const form = { grant_type: 'refresh_token', ...CREDS, refresh_token: str(tokens['refresh_token']) };
    const refreshed = (await postForm(`${naver.nidUrl}/oauth2.0/token`, form)).body;
    assert.deepEqual([refreshed['refresh_token'], refreshed['expires_in']], [undefined, '3600']);
    naver.expireAccessTokens();
    const refused = await getJson(`${naver.apiUrl}/v1/nid/me`, str(refreshed['access_token']));
    const failed = { resultcode: '024', message: 'Authentication failed / 인증에 실패했습니다.' };
    assert.deepEqual([refused.status, refused.body], [401, failed]);
  });
});

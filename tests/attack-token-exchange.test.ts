/**
 * The attack: a self-registered client asks for the token-exchange grant (RFC 8693) and swaps a
 * user's gateway access token for the user's Google access token, with every Google scope,
 * although the user consented to `openid` only.
 *
 * What stops it, each proven here: only an operator (CLI or clients file) gives the grant, and
 * never to a public client; RFC 7591 registration and RFC 7592 updates refuse it with
 * `invalid_client_metadata`; an exchange answers only for a grant in which the user consented to
 * the `upstream_token` scope on the consent page (in English and Korean, first-party apps
 * included), only while that grant lives, and each one is an audit event.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientMetadata } from 'oidc-provider';
import * as client from 'openid-client';
import { loadConfig } from '../config/load-config.ts';
import { indexedClientIds } from '../gateway/clients/client-index.ts';
import { checkClientsFile, ClientRegistryError } from '../gateway/clients/client-registry.ts';
import { runClientsCommand, type ClientsSubcommand } from '../gateway/cli/clients-command.ts';
import { createValidationProvider } from '../gateway/cli/open-client-registry.ts';
import { createStoreSealing } from '../gateway/keys/store-sealing.ts';
import { createMemoryStore } from '../adapters/memory-store.ts';
import { createBrowser } from './helpers/browser.ts';
import { auditEvents, startLoggedGateway, type LoggedGateway } from './helpers/logged-gateway.ts';
import {
  authorizeInBrowser,
  confidentialClient,
  discoverApp,
  redeem,
  signIn,
  startAuthorization,
  type TestApp,
} from './helpers/relying-party.ts';

const REGISTRATION_TOKEN = 'initial-access-token-0123456789abcdef0123';
const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const WITH_UPSTREAM_TOKEN = { scope: 'openid email profile upstream_token' };
const CONSENT_EN = 'Your access token at the sign-in provider (such as Google)';
const CONSENT_KO = '로그인 제공자(예: Google)의 액세스 토큰';

interface OAuthError {
  error: string;
  error_description?: string;
}

async function oauthError(response: Response, status: number, error: string, description?: RegExp): Promise<void> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  const body = JSON.parse(text) as OAuthError;
  assert.equal(body.error, error, text);
  if (description) assert.match(body.error_description ?? '', description);
}

/** RFC 8693 §2.1: the app's own gateway access token as the subject, for the upstream. */
function exchange(
  gw: LoggedGateway,
  meta: { client_id: string; client_secret?: string },
  subjectToken: string,
  audience = gw.google.issuer,
): Promise<Response> {
  const body = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN_TYPE,
    audience,
  });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (meta.client_secret)
    headers['authorization'] = `Basic ${Buffer.from(`${meta.client_id}:${meta.client_secret}`).toString('base64')}`;
  else body.set('client_id', meta.client_id);
  return fetch(`${gw.issuer}/token`, { method: 'POST', headers, body });
}

describe('only an operator gives the token-exchange grant', () => {
  let gw: LoggedGateway;
  let dir: string;
  const register = (body: object) =>
    fetch(`${gw.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${REGISTRATION_TOKEN}` },
      body: JSON.stringify(body),
    });
  const web = { client_name: 'Mallory', redirect_uris: ['https://mallory.example.com/cb'] };

  before(async () => {
    gw = await startLoggedGateway({ env: { GATEWAY_REGISTRATION_TOKEN: REGISTRATION_TOKEN } });
    dir = mkdtempSync(join(tmpdir(), 'token-exchange-cli-'));
  });
  after(async () => {
    await gw?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the grant in an RFC 7591 registration, confidential or public, with invalid_client_metadata', async () => {
    const before = (await indexedClientIds(gw.app.gateway.store)).length;
    const grantTypes = ['authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT];
    await oauthError(
      await register({ ...web, grant_types: grantTypes }),
      400,
      'invalid_client_metadata',
      /can be given only by an operator/,
    );
    await oauthError(
      await register({ ...web, token_endpoint_auth_method: 'none', grant_types: grantTypes }),
      400,
      'invalid_client_metadata',
    );
    assert.equal((await indexedClientIds(gw.app.gateway.store)).length, before, 'nothing stored');
  });

  it('refuses adding the grant with an RFC 7592 update, keeping the client as it was', async () => {
    const created = await register(web);
    assert.equal(created.status, 201);
    const registered = (await created.json()) as Record<string, unknown> & {
      registration_client_uri: string;
      registration_access_token: string;
    };
    const {
      registration_access_token: token,
      registration_client_uri: uri,
      client_id_issued_at: _issued,
      client_secret_expires_at: _expires,
      ...current
    } = registered;
    const auth = { authorization: `Bearer ${token}` };
    const update = await fetch(uri, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ ...current, grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT] }),
    });
    await oauthError(update, 400, 'invalid_client_metadata', /can be given only by an operator/);
    const read = (await (await fetch(uri, { headers: auth })).json()) as { grant_types: string[] };
    assert.deepEqual(read.grant_types, ['authorization_code', 'refresh_token']);
  });

  it('lets an operator give it to a confidential client (CLI, clients file), never to a public one', async () => {
    const loaded = loadConfig({
      GATEWAY_STORE: `sqlite://${join(dir, 'gateway.sqlite')}`,
      GATEWAY_LOG_LEVEL: 'silent',
    });
    assert.ok(loaded.ok);
    const run = async (args: string[]) => {
      const out = { stdout: '', stderr: '' };
      const [subcommand, ...rest] = args as [ClientsSubcommand, ...string[]];
      const code = await runClientsCommand(subcommand, rest, loaded.config, {
        stdout: (text: string) => (out.stdout += text),
        stderr: (text: string) => (out.stderr += text),
      });
      return { code, ...out };
    };
    const added = await run([
      'add',
      '--id',
      'drive-app',
      '--redirect-uri',
      'https://drive.example.com/cb',
      '--token-exchange',
      '--json',
    ]);
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual((JSON.parse(added.stdout) as { grant_types: string[] }).grant_types, [
      'authorization_code',
      'refresh_token',
      TOKEN_EXCHANGE_GRANT,
    ]);
    const spa = await run(['add', '--public', '--redirect-uri', 'https://spa.example.com/cb', '--token-exchange']);
    assert.equal(spa.code, 2);
    assert.match(spa.stderr, /^gateway: invalid_client_metadata: a public client .* cannot have the grant type/);

    const store = createMemoryStore();
    try {
      // Nothing is written: a throwaway data key is enough.
      const provider = await createValidationProvider(loaded.config, store, createStoreSealing(randomBytes(32)));
      const grantTypes = ['authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT];
      const confidential = {
        client_id: 'drive',
        client_secret: 'drive-secret-0123456789abcdef0123456789',
        redirect_uris: ['https://drive.example.com/cb'],
        grant_types: grantTypes,
      };
      assert.equal(checkClientsFile(provider, [confidential], 'clients.yaml', loaded.config).length, 1);
      assert.throws(
        () =>
          checkClientsFile(
            provider,
            [
              {
                client_id: 'spa',
                token_endpoint_auth_method: 'none',
                redirect_uris: ['https://spa.example.com/cb'],
                grant_types: grantTypes,
              },
            ],
            'clients.yaml',
            loaded.config,
          ),
        (error: unknown) =>
          error instanceof ClientRegistryError &&
          /clients\[0\] \(spa\): a public client .* cannot have the grant type/.test(error.message),
      );
    } finally {
      await store.close();
    }
  });
});

describe('an exchange answers only for a grant the user consented to', () => {
  let gw: LoggedGateway;
  let exchanger: TestApp;
  let plain: TestApp;
  let stalePublic: TestApp;
  const exchangerMeta = confidentialClient('drive-app', {
    client_name: 'Drive sync',
    grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT],
  });
  const plainMeta = confidentialClient('plain-app');
  // A public client holding the grant, as one registered before the rule would (static clients
  // bypass the registration policy): refused at the token endpoint all the same.
  const stalePublicMeta: ClientMetadata & { client_id: string; redirect_uris: readonly string[] } = {
    client_id: 'stale-spa',
    token_endpoint_auth_method: 'none',
    redirect_uris: ['http://127.0.0.1:9/stale-spa/callback'],
    grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT],
    first_party: true,
  };

  before(async () => {
    gw = await startLoggedGateway({ clients: [exchangerMeta, plainMeta, stalePublicMeta] });
    exchanger = await discoverApp(gw.issuer, exchangerMeta);
    plain = await discoverApp(gw.issuer, plainMeta);
    stalePublic = await discoverApp(gw.issuer, stalePublicMeta);
  });
  after(async () => gw?.close());

  it('refuses an exchange with invalid_scope when the user consented to openid email profile only', async () => {
    const tokens = await signIn(createBrowser(), exchanger, gw.google.issuer, { email: 'victim@example.com' });
    await oauthError(await exchange(gw, exchangerMeta, tokens.access_token), 400, 'invalid_scope', /upstream_token/);
  });

  it('asks the user (in English and Korean, though the app is first-party), then exchanges, audited', async () => {
    const browser = createBrowser();
    const start = await startAuthorization(exchanger, WITH_UPSTREAM_TOKEN);
    const first = await authorizeInBrowser(browser, exchanger, start, gw.google.issuer, {
      email: 'consents@example.com',
    });
    assert.equal(first.callback, undefined, 'no code before the user says yes');
    const consentUrl = first.page?.url ?? '';
    assert.match(new URL(consentUrl).pathname, /^\/interaction\/[^/]+$/, 'the consent page');
    const english = (await first.page?.text()) ?? '';
    assert.ok(english.includes('Drive sync'), 'names the app');
    assert.ok(english.includes(CONSENT_EN), 'names the upstream token');
    const korean = await (await browser.fetch(consentUrl, { headers: { 'accept-language': 'ko-KR,ko;q=0.9' } })).text();
    assert.ok(korean.includes('lang="ko"') && korean.includes(CONSENT_KO), 'in Korean too');

    const csrf = /name="csrf" value="([^"]+)"/.exec(english)?.[1] ?? '';
    const confirmed = await browser.fetch(`${consentUrl}/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf }).toString(),
    });
    const back = await browser.follow(new URL(confirmed.headers.get('location') ?? '', gw.issuer), (url) =>
      url.href.startsWith(exchangerMeta.redirect_uris[0] ?? ''),
    );
    assert.ok(back.location, 'back at the app with a code');
    const tokens = await redeem(exchanger, start, back.location);

    const answer = await exchange(gw, exchangerMeta, tokens.access_token);
    assert.equal(answer.status, 200);
    const body = (await answer.json()) as { access_token: string; issued_token_type: string; scope?: string };
    assert.equal(body.issued_token_type, ACCESS_TOKEN_TYPE);
    assert.equal(
      (await fetch(`${gw.google.issuer}/me`, { headers: { authorization: `Bearer ${body.access_token}` } })).status,
      200,
      'the Google token works',
    );
    // The upstream may also be named by its id (the shorthand's: `oidc`, as this one is not
    // Google's issuer); one that is not configured is refused.
    assert.equal((await exchange(gw, exchangerMeta, tokens.access_token, 'upstream:oidc')).status, 200);
    await oauthError(
      await exchange(gw, exchangerMeta, tokens.access_token, 'upstream:github'),
      400,
      'invalid_target',
      /audience must name an identity provider this client may use \(upstream:oidc\)/,
    );
    const sub = tokens.claims()?.sub;
    const events = auditEvents(gw).filter((line) => line.audit === 'token.exchanged');
    assert.equal(events.length, 2);
    assert.equal(events[1]?.['upstream'], 'oidc');
    assert.equal(events[0]?.['client_id'], exchangerMeta.client_id);
    assert.equal(events[0]?.['sub'], sub);
    assert.equal(events[0]?.['upstream_scope'], body.scope);
    assert.ok(
      !gw.logText().includes(body.access_token) && !gw.logText().includes(tokens.access_token),
      'no token in the log',
    );

    // The consent is remembered: the next sign-in of this app asks nothing.
    const again = await authorizeInBrowser(
      browser,
      exchanger,
      await startAuthorization(exchanger, WITH_UPSTREAM_TOKEN),
      gw.google.issuer,
      undefined,
    );
    assert.ok(again.callback?.searchParams.get('code'), 'no second consent page');

    // Once the grant ends (RFC 7009 revocation of its refresh token), so does the exchange.
    await client.tokenRevocation(exchanger.config, tokens.refresh_token ?? '');
    await oauthError(await exchange(gw, exchangerMeta, tokens.access_token), 400, 'invalid_grant');
  });

  it('refuses upstream_token to an app an operator did not allow, before the user signs in', async () => {
    const start = await startAuthorization(plain, WITH_UPSTREAM_TOKEN);
    // No identity: a trip to Google would fail the test.
    const result = await authorizeInBrowser(createBrowser(), plain, start, gw.google.issuer, undefined);
    assert.equal(result.callback?.searchParams.get('error'), 'invalid_scope');
    assert.equal(result.callback?.searchParams.get('code'), null);
  });

  it('refuses a public client that holds the grant, with unauthorized_client', async () => {
    const tokens = await signIn(createBrowser(), stalePublic, gw.google.issuer, { email: 'spa-user@example.com' });
    await oauthError(await exchange(gw, stalePublicMeta, tokens.access_token), 400, 'unauthorized_client');
  });
});

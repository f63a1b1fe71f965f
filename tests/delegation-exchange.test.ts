/**
 * Delegation between apps (RFC 8693): the shop, holding a user's access token, gets a token for
 * the billing API only because an operator allowed shop → billing-api; the token is down-scoped
 * to billing's registered scopes, short, names the shop in `act`, and ends with the user's grant.
 * Billing, in turn allowed billing-api → ledger-api, passes the user on with a nested `act`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { createBrowser } from './helpers/browser.ts';
import { confidentialClient, discoverApp, signIn, type TestApp } from './helpers/relying-party.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

/** An API registered as a confidential client (it introspects, and may exchange in turn). */
const api = (id: string, scope: string, extra: Record<string, unknown> = {}) => ({
  ...confidentialClient(id),
  grant_types: [],
  response_types: [],
  redirect_uris: [],
  post_logout_redirect_uris: [],
  scope,
  ...extra,
});

describe('delegation between apps: token exchange for another app (RFC 8693)', () => {
  let gw: StartedGateway;
  let shop: TestApp;
  const shopMeta = confidentialClient('shop', {
    grant_types: ['authorization_code', 'refresh_token', EXCHANGE],
    token_exchange_audiences: ['billing-api'],
  });
  const billing = api('billing-api', 'openid email', {
    grant_types: [EXCHANGE],
    token_exchange_audiences: ['ledger-api'],
  });
  const ledger = api('ledger-api', 'openid email', {
    grant_types: [EXCHANGE],
    token_exchange_audiences: ['archive-api'],
  });
  const archive = api('archive-api', 'openid email');
  const other = api('other-api', 'openid email profile');

  before(async () => {
    gw = await startGateway({ clients: [shopMeta, billing, ledger, archive, other] });
    shop = await discoverApp(gw.issuer, shopMeta);
  });
  after(async () => {
    await gw?.close();
  });

  const exchange = async (
    as: { client_id: string; client_secret: string },
    subject: string,
    extra: Record<string, string>,
  ) => {
    const response = await fetch(`${gw.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${as.client_id}:${as.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: EXCHANGE,
        subject_token: subject,
        subject_token_type: ACCESS_TOKEN,
        ...extra,
      }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const introspect = async (as: { client_id: string; client_secret: string }, token: string) => {
    const response = await fetch(`${gw.issuer}/token/introspection`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${as.client_id}:${as.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token }),
    });
    return (await response.json()) as Record<string, unknown>;
  };

  it("gives the shop a down-scoped, short token for billing, naming the shop in act, and ends it with the user's grant", async () => {
    const tokens = await signIn(createBrowser(), shop, gw.google.issuer, { email: 'ada@example.com', name: 'Ada' });
    const subject = decodeJwt(tokens.access_token);
    const delegated = await exchange(shopMeta, tokens.access_token, { audience: 'billing-api' });
    assert.equal(delegated.status, 200, JSON.stringify(delegated.body));
    assert.equal(delegated.body['issued_token_type'], ACCESS_TOKEN);
    assert.equal(delegated.body['scope'], 'openid email', 'only what billing is registered for: no profile');
    const claims = decodeJwt(String(delegated.body['access_token']));
    assert.equal(claims.sub, subject.sub);
    assert.equal(claims.aud, 'billing-api');
    assert.equal(claims['client_id'], 'shop');
    assert.deepEqual(claims['act'], { sub: 'shop' });
    assert.equal(claims['email'], 'ada@example.com');
    assert.equal(claims['preferred_username'], undefined, 'profile was not passed on');
    assert.ok((claims.exp ?? 0) <= (subject.exp ?? 0), 'never longer than the subject token');

    // Billing verifies it by introspection (a token for billing itself).
    assert.equal((await introspect(billing, String(delegated.body['access_token'])))['active'], true);

    // The shop cannot exchange its own delegated token again (it is billing's, not the shop's).
    const again = await exchange(shopMeta, String(delegated.body['access_token']), { audience: 'billing-api' });
    assert.equal(again.body['error'], 'invalid_grant');

    // Billing passes the user on to the ledger: act nests who acted before.
    const chained = await exchange(billing, String(delegated.body['access_token']), { audience: 'ledger-api' });
    assert.equal(chained.status, 200, JSON.stringify(chained.body));
    const ledgerClaims = decodeJwt(String(chained.body['access_token']));
    assert.deepEqual(ledgerClaims['act'], { sub: 'billing-api', act: { sub: 'shop' } });
    assert.equal(ledgerClaims.sub, subject.sub);
    assert.equal((await introspect(ledger, String(chained.body['access_token'])))['active'], true);
    // And the ledger on to the archive: the user's grant is still the shop's, three apps down.
    const third = await exchange(ledger, String(chained.body['access_token']), { audience: 'archive-api' });
    assert.equal(third.status, 200, JSON.stringify(third.body));
    assert.deepEqual(decodeJwt(String(third.body['access_token']))['act'], {
      sub: 'ledger-api',
      act: { sub: 'billing-api', act: { sub: 'shop' } },
    });

    // The user's grant ends (the shop revokes its token): every token passed on ends with it.
    await client.tokenRevocation(shop.config, tokens.access_token);
    assert.equal((await introspect(billing, String(delegated.body['access_token'])))['active'], false);
    assert.equal((await introspect(ledger, String(chained.body['access_token'])))['active'], false);
    const after = await exchange(shopMeta, tokens.access_token, { audience: 'billing-api' });
    assert.equal(after.body['error'], 'invalid_grant');
  });

  it('refuses an API the operator did not allow, more scope than there is, and an app without the grant', async () => {
    const tokens = await signIn(createBrowser(), shop, gw.google.issuer, { email: 'bob@example.com', name: 'Bob' });
    const notAllowed = await exchange(shopMeta, tokens.access_token, { audience: 'other-api' });
    assert.equal(notAllowed.status, 400);
    assert.equal(notAllowed.body['error'], 'invalid_target');
    const noScope = await exchange(shopMeta, tokens.access_token, { audience: 'billing-api', scope: 'profile' });
    assert.equal(noScope.body['error'], 'invalid_scope');
    const narrower = await exchange(shopMeta, tokens.access_token, { audience: 'billing-api', scope: 'email' });
    assert.equal(narrower.body['scope'], 'email');
    // The ledger may not exchange at all (no grant): oidc-provider refuses before the policy.
    const ledgerTry = await exchange(ledger, tokens.access_token, { audience: 'billing-api' });
    assert.equal(ledgerTry.status, 400);
    // Billing may not use the shop's own token (not meant for billing) to reach the ledger.
    const stolen = await exchange(billing, tokens.access_token, { audience: 'ledger-api' });
    assert.equal(stolen.body['error'], 'invalid_grant');
  });
});

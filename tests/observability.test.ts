/**
 * Observability: `/metrics` in the Prometheus text format with the series the issue lists, and
 * the audit events on the log stream (one shape, never a secret), after real traffic: a sign-in
 * through the fake Google, a refresh, a revocation, forward-auth checks, a sign-out, refusals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { createBrowser } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import {
  auditEvents,
  metricValue,
  startLoggedGateway,
  TEST_SECRET,
  type LoggedGateway,
} from './helpers/logged-gateway.ts';
import { confidentialClient, discoverApp, signIn, type TestApp } from './helpers/relying-party.ts';
import { UPSTREAM_CLIENT } from './helpers/start-gateway.ts';

describe('metrics and audit events after real traffic', () => {
  let gw: LoggedGateway;
  let app: TestApp;
  const meta = confidentialClient('ops-app');
  let metrics = '';
  const secrets: string[] = [TEST_SECRET, UPSTREAM_CLIENT.secret, meta.client_secret];
  let interactionUid = '';

  before(async () => {
    gw = await startLoggedGateway({ clients: [meta], env: { GATEWAY_REFRESH_GRACE: '1' } });
    app = await discoverApp(gw.issuer, meta);

    // An app signs a user in, refreshes, and revokes its refresh token (RFC 7009).
    const browser = createBrowser();
    const tokens = await signIn(browser, app, gw.google.issuer, { email: 'ops@example.com', name: 'Ops' });
    const refreshed = await client.refreshTokenGrant(app.config, tokens.refresh_token ?? '');
    secrets.push(
      tokens.access_token,
      tokens.refresh_token ?? '',
      tokens.id_token ?? '',
      refreshed.access_token,
      refreshed.refresh_token ?? '',
    );
    // A rotated refresh token presented again after the grace: reuse detected (RFC 9700 §4.14.2).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const again = await client.refreshTokenGrant(app.config, tokens.refresh_token ?? '').then(
      () => 'accepted',
      (error: { error?: string }) => error.error,
    );
    assert.equal(again, 'invalid_grant');
    // A new sign-in; its app revokes the refresh token, and with it the grant (RFC 7009 §2.1).
    const second = await signIn(createBrowser(), app, gw.google.issuer, { email: 'ops@example.com' });
    secrets.push(second.access_token, second.refresh_token ?? '');
    await client.tokenRevocation(app.config, second.refresh_token ?? '');

    // Forward auth: two checks without a cookie, a sign-in, a check with the cookie, a sign-out.
    for (let i = 0; i < 2; i += 1) await (await fetch(`${gw.url}/oauth2/auth`)).body?.cancel();
    const fa = createBrowser();
    const start = await fa.follow(`${gw.url}/oauth2/start?rd=/`, (url) => url.href.startsWith(gw.google.issuer));
    const back = await signInAtFakeGoogle(start.location?.href ?? '', (u, init) => fa.fetch(u, init), {
      email: 'fa@example.com',
    });
    await fa.follow(back);
    const check = await fa.fetch(`${gw.url}/oauth2/auth`);
    assert.equal(check.status, 202);
    await (await fa.fetch(`${gw.url}/oauth2/sign_out`)).body?.cancel();

    // A sign-in answer that belongs to no browser (RFC 6749 §10.12): refused, and counted.
    await (await fetch(`${gw.url}/upstream/callback?state=forged&code=x`)).body?.cancel();

    // An interaction uid, to prove raw URLs never become labels.
    const started = await createBrowser().follow(
      `${gw.issuer}/auth?client_id=ops-app&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(meta.redirect_uris[0] ?? '')}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`,
      (url) => url.href.startsWith(gw.google.issuer),
    );
    interactionUid =
      /\/interaction\/([^/?]+)/.exec(start.location?.href ?? '')?.[1] ??
      /\/interaction\/([^/?]+)/.exec(started.url.href)?.[1] ??
      '';

    const scraped = await fetch(`${gw.url}/metrics`);
    assert.equal(scraped.status, 200);
    assert.equal(scraped.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    metrics = await scraped.text();
  });
  after(async () => gw?.close());

  it('counts requests and latency per route pattern, never per raw URL', () => {
    assert.ok(
      (metricValue(metrics, 'gateway_http_requests_total', { method: 'GET', route: '/oauth2/auth', status: '401' }) ??
        0) >= 2,
    );
    assert.equal(
      metricValue(metrics, 'gateway_http_requests_total', {
        method: 'GET',
        route: '/upstream/callback',
        status: '400',
      }),
      1,
    );
    assert.ok(
      (metricValue(metrics, 'gateway_http_requests_total', {
        method: 'GET',
        route: '/interaction/:uid',
        status: '303',
      }) ?? 0) >= 1,
    );
    assert.ok(
      (metricValue(metrics, 'gateway_http_requests_total', { method: 'POST', route: '/token', status: '200' }) ?? 0) >=
        2,
      'provider endpoints by their own path',
    );
    assert.ok(
      (metricValue(metrics, 'gateway_http_request_duration_seconds_count', { method: 'POST', route: '/token' }) ?? 0) >=
        2,
    );
    assert.ok(
      metricValue(metrics, 'gateway_http_request_duration_seconds_bucket', {
        method: 'GET',
        route: '/oauth2/auth',
        le: '+Inf',
      }),
    );
    assert.ok(interactionUid.length > 10);
    assert.ok(!metrics.includes(interactionUid), 'no interaction uid in any label');
    assert.ok(!metrics.includes('forged'), 'no query string in any label');
  });

  it('counts forward-auth checks by result', () => {
    assert.ok((metricValue(metrics, 'gateway_forward_auth_checks_total', { result: 'unauthenticated' }) ?? 0) >= 2);
    assert.equal(metricValue(metrics, 'gateway_forward_auth_checks_total', { result: 'allowed' }), 1);
    assert.equal(metricValue(metrics, 'gateway_forward_auth_checks_total', { result: 'forbidden' }), 0);
  });

  it('counts sign-ins and their failures by reason', () => {
    assert.equal(metricValue(metrics, 'gateway_sign_ins_total'), 3);
    assert.equal(metricValue(metrics, 'gateway_sign_in_failures_total', { reason: 'invalid_state' }), 1);
  });

  it('counts tokens issued by grant type and token type', () => {
    assert.ok(
      (metricValue(metrics, 'gateway_tokens_issued_total', {
        grant_type: 'authorization_code',
        token_type: 'id_token',
      }) ?? 0) >= 2,
    );
    assert.ok(
      (metricValue(metrics, 'gateway_tokens_issued_total', {
        grant_type: 'authorization_code',
        token_type: 'refresh_token',
      }) ?? 0) >= 2,
    );
    assert.equal(
      metricValue(metrics, 'gateway_tokens_issued_total', { grant_type: 'refresh_token', token_type: 'access_token' }),
      1,
    );
  });

  it('counts upstream calls, store operations and the process', () => {
    assert.equal(
      metricValue(metrics, 'gateway_upstream_requests_total', { operation: 'code_exchange', outcome: 'ok' }),
      3,
    );
    assert.ok(
      (metricValue(metrics, 'gateway_upstream_requests_total', { operation: 'userinfo', outcome: 'ok' }) ?? 0) >= 2,
    );
    assert.equal(metricValue(metrics, 'gateway_upstream_requests_total', { operation: 'discovery', outcome: 'ok' }), 1);
    assert.ok(
      (metricValue(metrics, 'gateway_upstream_request_duration_seconds_count', { operation: 'code_exchange' }) ?? 0) >=
        2,
    );
    assert.ok((metricValue(metrics, 'gateway_store_operation_duration_seconds_count', { operation: 'get' }) ?? 0) > 10);
    assert.ok(
      (metricValue(metrics, 'gateway_store_operation_duration_seconds_count', { operation: 'setIfAbsent' }) ?? 0) > 0,
    );
    assert.match(metrics, /^# TYPE gateway_store_errors_total counter$/m);
    assert.match(metrics, /^process_cpu_user_seconds_total /m);
    assert.match(metrics, /^nodejs_eventloop_lag_seconds /m);
  });

  it('writes one audit event per sign-in, token, revocation and sign-out, all of one shape', () => {
    const events = auditEvents(gw);
    const names = events.map((line) => line.audit);
    assert.equal(names.filter((name) => name === 'sign_in').length, 3, names.join(','));
    assert.ok(names.includes('sign_in.refused'));
    assert.ok(names.includes('token.issued'));
    assert.ok(names.includes('token.refreshed'));
    assert.ok(names.includes('token.revoked'));
    assert.ok(names.includes('grant.revoked'), `revoking a refresh token revokes its grant: ${names.join(', ')}`);
    const signOut = events.find((line) => line.audit === 'sign_out');
    assert.equal(signOut?.['via'], 'forward_auth');
    assert.equal(typeof signOut?.['sub'], 'string');
    const refreshed = events.find((line) => line.audit === 'token.refreshed');
    assert.equal(refreshed?.['client_id'], 'ops-app');
    assert.equal(refreshed?.['grant_type'], 'refresh_token');
    assert.deepEqual(refreshed?.['issued'], ['access_token', 'id_token', 'refresh_token']);
    const signedIn = events.find((line) => line.audit === 'sign_in');
    assert.equal(typeof signedIn?.['sub'], 'string');
    assert.equal(signedIn?.['upstream'], gw.google.issuer);
    assert.equal(events.find((line) => line.audit === 'sign_in.refused')?.['reason'], 'invalid_state');
    const reuse = events.find((line) => line.audit === 'refresh_token.reuse_detected');
    assert.equal(reuse?.['client_id'], 'ops-app');
    assert.equal(reuse?.['level'], 40, 'a sign of theft: logged at warn');
    for (const line of events) assert.equal(typeof line['msg'], 'string');
  });

  it('never writes a token, code, cookie or secret to the log', () => {
    const text = gw.logText();
    for (const secret of secrets) {
      assert.ok(secret.length > 20);
      assert.ok(!text.includes(secret), `a secret or token (${secret.slice(0, 6)}…) reached the log`);
    }
  });
});

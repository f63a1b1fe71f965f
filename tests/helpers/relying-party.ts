/**
 * A downstream app for tests: openid-client against the gateway, driving the real HTTP flow with
 * a browser-like cookie jar (the fake Google's sign-in form included).
 */
import * as client from 'openid-client';
import type { ClientMetadata } from 'oidc-provider';
import type { Browser } from './browser.ts';
import { signInAtFakeGoogle, type FakeGoogleIdentity } from './fake-google.ts';

export interface TestApp {
  metadata: ClientMetadata & { client_id: string; redirect_uris: readonly string[] };
  config: client.Configuration;
}

/** A first-party confidential client registered statically. */
export function confidentialClient(
  id: string,
  extra: Partial<ClientMetadata> = {},
): ClientMetadata & { client_id: string; redirect_uris: readonly string[]; client_secret: string } {
  return {
    client_id: id,
    client_secret: `${id}-secret-0123456789abcdef0123456789`,
    redirect_uris: [`http://127.0.0.1:9/${id}/callback`],
    post_logout_redirect_uris: [`http://127.0.0.1:9/${id}/signed-out`],
    grant_types: ['authorization_code', 'refresh_token'],
    first_party: true,
    ...extra,
  };
}

export async function discoverApp(
  issuer: string,
  metadata: ClientMetadata & { client_id: string; redirect_uris: readonly string[] },
): Promise<TestApp> {
  const config = await client.discovery(
    new URL(issuer),
    metadata.client_id,
    metadata.client_secret ? { client_secret: String(metadata.client_secret) } : { token_endpoint_auth_method: 'none' },
    metadata.client_secret ? client.ClientSecretBasic(String(metadata.client_secret)) : client.None(),
    { execute: [client.allowInsecureRequests] },
  );
  return { metadata, config };
}

export interface AuthorizationStart {
  url: URL;
  codeVerifier: string;
  state: string;
  nonce: string;
}

export async function startAuthorization(
  app: TestApp,
  extra: Record<string, string> = {},
): Promise<AuthorizationStart> {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(app.config, {
    redirect_uri: app.metadata.redirect_uris[0] ?? '',
    scope: 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, codeVerifier, state, nonce };
}

/**
 * Walks a browser from the app's authorization URL to the redirect back to the app, signing in
 * at the fake Google on the way if asked to. Returns the app's callback URL (with code or error),
 * or the page the browser stopped at.
 */
export async function authorizeInBrowser(
  browser: Browser,
  app: TestApp,
  start: AuthorizationStart,
  googleIssuer: string,
  identity: FakeGoogleIdentity | undefined,
): Promise<{ callback?: URL; page?: Response }> {
  const redirectUri = app.metadata.redirect_uris[0] ?? '';
  const atApp = (url: URL) => url.href.startsWith(redirectUri);
  const atGoogle = (url: URL) => url.href.startsWith(googleIssuer);
  let hop = await browser.follow(start.url, (url) => atApp(url) || atGoogle(url));
  if (hop.location && atGoogle(hop.location)) {
    if (!identity) throw new Error('the gateway sent the browser to Google, but the test gave no identity');
    const back = await signInAtFakeGoogle(hop.location.href, (url, init) => browser.fetch(url, init), identity);
    hop = await browser.follow(back, atApp);
  }
  if (hop.location && atApp(hop.location)) return { callback: hop.location };
  return { page: hop.response };
}

/** Exchanges the code at the gateway's token endpoint (openid-client checks state, nonce, PKCE). */
export async function redeem(app: TestApp, start: AuthorizationStart, callback: URL) {
  return client.authorizationCodeGrant(app.config, callback, {
    pkceCodeVerifier: start.codeVerifier,
    expectedState: start.state,
    expectedNonce: start.nonce,
    idTokenExpected: true,
  });
}

/** Signs in end to end and returns the token response. */
export async function signIn(browser: Browser, app: TestApp, googleIssuer: string, identity: FakeGoogleIdentity) {
  const start = await startAuthorization(app);
  const { callback, page } = await authorizeInBrowser(browser, app, start, googleIssuer, identity);
  if (!callback) throw new Error(`sign-in stopped at HTTP ${page?.status}: ${await page?.text()}`);
  return redeem(app, start, callback);
}

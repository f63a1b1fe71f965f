/**
 * A relying party of an upstream IdP (the fake Google, the development IdP), as the gateway is
 * one: openid-client 6 with a client registered at the IdP, and a browser's cookie jar to click
 * through the IdP's sign-in form (signInAtFakeGoogle).
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { signInAtFakeGoogle, type FakeGoogleIdentity } from './fake-google.ts';

const CLIENT_ID = 'gateway-client';
const CLIENT_SECRET = 'gateway-secret-for-tests';
/** Never fetched: the test reads the code from the redirect's Location. */
export const REDIRECT_URI = 'http://127.0.0.1:9/oauth2/callback';
/** The one client to register at the IdP under test. */
export const IDP_CLIENTS = [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI] }];

export type JarFetch = (url: string, init?: RequestInit) => Promise<Response>;

/** A browser's cookie handling, reduced to what an IdP uses (RFC 6265 §5.3, host-only). */
export function cookieJar(): JarFetch {
  const cookies = new Map<string, { host: string; path: string; name: string; value: string }>();
  const pathMatches = (cookiePath: string, path: string): boolean =>
    path === cookiePath || path.startsWith(cookiePath.endsWith('/') ? cookiePath : `${cookiePath}/`);
  return async (url, init) => {
    const target = new URL(url);
    const header = [...cookies.values()]
      .filter((c) => c.host === target.host && pathMatches(c.path, target.pathname))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const headers = new Headers(init?.headers);
    if (header !== '') headers.set('cookie', header);
    const response = await fetch(url, { ...init, headers });
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = target.pathname.slice(0, target.pathname.lastIndexOf('/')) || '/';
      let expired = false;
      for (const attribute of attributes) {
        const [key = '', attributeValue = ''] = attribute.split('=');
        if (key.toLowerCase() === 'path') path = attributeValue;
        if (key.toLowerCase() === 'expires' && Date.parse(attributeValue) <= Date.now()) expired = true;
        if (key.toLowerCase() === 'max-age' && Number(attributeValue) <= 0) expired = true;
      }
      const key = `${target.host} ${path} ${name}`;
      if (expired) cookies.delete(key);
      else cookies.set(key, { host: target.host, path, name, value });
    }
    return response;
  };
}

/** Discovery at `issuer`, as the client of {@link IDP_CLIENTS}. */
export async function discoverIdp(issuer: string): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(issuer), CLIENT_ID, CLIENT_SECRET, undefined, {
    execute: [oidc.allowInsecureRequests], // http:// on loopback only
  });
}

export interface SignInOptions {
  jar?: JarFetch;
  params?: Record<string, string>;
  /** False when the IdP omits id_token: then no nonce may be expected (an IdP may answer the code grant without one). */
  expectIdToken?: boolean;
}

/** One authorization code flow with PKCE (RFC 7636, S256), state and nonce. */
export async function signInAtIdp(
  config: oidc.Configuration,
  identity: FakeGoogleIdentity,
  options: SignInOptions = {},
) {
  const jar = options.jar ?? cookieJar();
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const authUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid email profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...options.params,
  });
  const location = await signInAtFakeGoogle(authUrl.href, jar, identity);
  assert.ok(location.startsWith(`${REDIRECT_URI}?`), 'the sign-in ends at the redirect_uri');
  const expectIdToken = options.expectIdToken ?? true;
  return oidc.authorizationCodeGrant(config, new URL(location), {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    ...(expectIdToken ? { expectedNonce: nonce, idTokenExpected: true } : {}),
  });
}

/** The IdP's sign-in page for a fresh authorization request: the answer, and its HTML. */
export async function signInPage(
  config: oidc.Configuration,
  params: Record<string, string> = {},
): Promise<{ response: Response; html: string }> {
  const jar = cookieJar();
  const authUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    ...params,
  });
  const redirect = await jar(authUrl.href, { redirect: 'manual' });
  assert.equal(redirect.status, 303);
  const response = await jar(new URL(redirect.headers.get('location') ?? '', authUrl).href, { redirect: 'manual' });
  return { response, html: await response.text() };
}

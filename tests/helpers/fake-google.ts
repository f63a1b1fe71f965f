/**
 * The fake Google for tests: a Google-like OpenID Provider (google-like-idp.ts) on its own
 * `node:http` server at http://127.0.0.1:<free port>, plus a scripted browser sign-in. In front of
 * the IdP, this server can misbehave in ways no IdP should: refusing access tokens at userinfo,
 * and never answering a token request (so a test can kill a gateway while it waits for one).
 *
 * @module
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGoogleLikeIdp } from './google-like-idp.ts';
import type { GoogleLikeIdp, GoogleLikeIdpOptions } from './google-like-idp.ts';

/** Options of {@link startFakeGoogle}: its clients and Google's ways (google-like-idp.ts). */
export type FakeGoogleOptions = Omit<GoogleLikeIdpOptions, 'issuer'>;

/** A running fake Google. */
export interface FakeGoogle {
  /** e.g. `http://127.0.0.1:53123`; discovery is at `${issuer}/.well-known/openid-configuration`. */
  issuer: string;
  idp: GoogleLikeIdp;
  /**
   * How many of the next userinfo requests to refuse with 401 and `WWW-Authenticate: Bearer
   * error="invalid_token"` (RFC 6750 §3.1), whatever their token: as some upstreams refuse the
   * access token of a fresh code grant while its refresh token works. Counts down to 0.
   */
  refuseUserinfo: number;
  /**
   * How many of the next token requests (code or refresh grants) to hold without ever answering,
   * as a request in flight when its gateway dies. Counts down to 0; `heldTokenRequests` counts
   * those held so far. Their connections close with the server.
   */
  holdTokenRequests: number;
  heldTokenRequests: number;
  close(): Promise<void>;
}

/** Starts the fake Google on 127.0.0.1, on a port the system picks. */
export async function startFakeGoogle(options: FakeGoogleOptions): Promise<FakeGoogle> {
  let idp: GoogleLikeIdp | undefined;
  let fake: FakeGoogle | undefined;
  const server = createServer((req, res) => {
    if (idp === undefined || fake === undefined) {
      res.statusCode = 503;
      res.end();
      return;
    }
    if (fake.refuseUserinfo > 0 && new URL(req.url ?? '/', fake.issuer).pathname === idp.provider.pathFor('userinfo')) {
      fake.refuseUserinfo -= 1;
      res.writeHead(401, {
        'www-authenticate':
          'Bearer realm="fake-google", error="invalid_token", error_description="refused by refuseUserinfo"',
        'content-type': 'application/json',
      });
      res.end(JSON.stringify({ error: 'invalid_token', error_description: 'refused by refuseUserinfo' }));
      return;
    }
    if (fake.holdTokenRequests > 0 && new URL(req.url ?? '/', fake.issuer).pathname === idp.provider.pathFor('token')) {
      fake.holdTokenRequests -= 1;
      fake.heldTokenRequests += 1;
      req.resume();
      return;
    }
    idp.handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  try {
    idp = createGoogleLikeIdp({ ...options, issuer });
  } catch (error) {
    // Never leave a listening server behind: the test would hang instead of failing.
    server.close();
    throw error;
  }
  fake = {
    issuer,
    idp,
    refuseUserinfo: 0,
    holdTokenRequests: 0,
    heldTokenRequests: 0,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
  return fake;
}

/**
 * Who signs in at the fake Google; `sub`, `email_verified` and `hd` override the defaults
 * (`email_verified: 'unsent'` leaves the claim out, as Microsoft Entra ID does).
 */
export interface FakeGoogleIdentity {
  email: string;
  name?: string;
  sub?: string;
  email_verified?: boolean | 'unsent';
  hd?: string;
}

const MAX_STEPS = 20;

/**
 * Plays the browser from `authUrl` (the IdP's authorization URL, or any URL that redirects to it)
 * to the redirect back to the client: follows redirects one by one, submits the sign-in form
 * with `identity` and the consent form if one is shown. Returns that last Location, the client's
 * redirect_uri with `code` and `state` (or `error`). `fetchWithJar` must keep cookies like a
 * browser; it is always called with `redirect: 'manual'`.
 */
export async function signInAtFakeGoogle(
  authUrl: string,
  fetchWithJar: (url: string, init?: RequestInit) => Promise<Response>,
  identity: FakeGoogleIdentity,
): Promise<string> {
  let url = authUrl;
  let init: RequestInit = { redirect: 'manual' };
  for (let step = 0; step < MAX_STEPS; step += 1) {
    const response = await fetchWithJar(url, init);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      await response.body?.cancel();
      const next = new URL(location, url);
      // The authorization response (RFC 6749 §4.1.2 and §4.1.2.1) is the redirect that carries
      // `code` or `error`; no redirect inside the IdP does.
      if (next.searchParams.has('code') || next.searchParams.has('error')) return next.href;
      url = next.href;
      init = { redirect: 'manual' };
      continue;
    }
    const html = await response.text();
    const action = /<form\b[^>]*\baction="([^"]*)"/i.exec(html)?.[1];
    if (response.status !== 200 || action === undefined) {
      throw new Error(`fake Google sign-in stopped at ${new URL(url).pathname}: HTTP ${response.status}`);
    }
    const form = new URLSearchParams({ email: identity.email });
    // Hidden fields of the form (its CSRF token), posted back as a browser would.
    const formHtml = /<form\b[\s\S]*?<\/form>/i.exec(html)?.[0] ?? '';
    for (const [, name = '', value = ''] of formHtml.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
      form.set(name, value.replaceAll('&amp;', '&'));
    if (identity.name !== undefined) form.set('name', identity.name);
    if (identity.sub !== undefined) form.set('sub', identity.sub);
    if (identity.email_verified !== undefined) form.set('email_verified', String(identity.email_verified));
    if (identity.hd !== undefined) form.set('hd', identity.hd);
    url = new URL(action.replaceAll('&amp;', '&'), url).href;
    init = {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    };
  }
  throw new Error(`fake Google sign-in did not return to the client within ${MAX_STEPS} steps`);
}

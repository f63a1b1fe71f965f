/**
 * What the fake upstream providers (fake-microsoft.ts, fake-kakao.ts, fake-gitlab.ts,
 * fake-naver.ts) share: a listening `node:http` server on 127.0.0.1, an RS256 signing key with a
 * `kid` published as a JWKS, reading token requests (form bodies, the query of a GET, or JSON),
 * telling how the client authenticated (client_secret_post or client_secret_basic), and checking
 * PKCE. Nothing here is specific to one provider: each fake decides what its answers look like.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

/** An RS256 key pair with the `kid` its tokens carry and its public half as a JWK. */
export interface SigningKey {
  kid: string;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  /** The public key as published in a JWKS: `kty`, `n`, `e`, `kid`, `use`, `alg`. */
  publicJwk: JWK;
}

export async function createSigningKey(kid: string = randomBytes(12).toString('base64url')): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' };
  return { kid, privateKey, publicJwk };
}

/** Signs `claims` as a compact JWS, RS256 with the key's `kid`, `typ: JWT` (as every provider here does). */
export function signJwt(key: SigningKey, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Random URL-safe text for codes and tokens (`bytes` of entropy). */
export const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** Constant-time comparison, so a fake does not teach a habit the real ones would punish. */
export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The parameters of a token request: the form body of a POST (or a JSON body, which some
 * clients send), plus the query string (Naver takes its token request as a GET with a query).
 * Body values win over query values of the same name.
 */
export async function readParams(req: IncomingMessage, url: URL): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  const params = new URLSearchParams(url.search);
  let body: URLSearchParams;
  if ((req.headers['content-type'] ?? '').includes('application/json') && text.trim() !== '') {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    body = new URLSearchParams(Object.entries(parsed).map(([k, v]): [string, string] => [k, String(v)]));
  } else {
    body = new URLSearchParams(text);
  }
  for (const [k, v] of body) params.set(k, v);
  return params;
}

/** How the client presented its credentials at the token endpoint. */
export interface ClientCredentials {
  method: 'client_secret_basic' | 'client_secret_post' | 'none';
  id: string | undefined;
  secret: string | undefined;
}

/**
 * client_secret_basic (RFC 6749 §2.3.1: id and secret each form-urlencoded, then joined by a
 * colon and base64-encoded) when an `Authorization: Basic` header is sent, else
 * client_secret_post (`client_id` and `client_secret` form fields).
 */
export function clientCredentials(req: IncomingMessage, params: URLSearchParams): ClientCredentials {
  const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (basic !== undefined) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const unform = (s: string) => decodeURIComponent(s.replaceAll('+', ' '));
    try {
      if (colon >= 0)
        return {
          method: 'client_secret_basic',
          id: unform(decoded.slice(0, colon)),
          secret: unform(decoded.slice(colon + 1)),
        };
    } catch {
      // A malformed percent-escape: the credentials are simply wrong.
    }
    return { method: 'client_secret_basic', id: undefined, secret: undefined };
  }
  const id = params.get('client_id') ?? undefined;
  const secret = params.get('client_secret') ?? undefined;
  return { method: secret === undefined ? 'none' : 'client_secret_post', id, secret };
}

/** RFC 7636 §4.6: whether `verifier` answers the challenge sent with the authorization request. */
export function pkceMatches(challenge: string, method: string, verifier: string | null): boolean {
  if (verifier === null || !/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) return false;
  const computed = method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
  return computed === challenge;
}

/** The Bearer token of a request (RFC 6750 §2.1), if any. */
export const bearerToken = (req: IncomingMessage): string | undefined =>
  /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    pragma: 'no-cache',
    ...headers,
  });
  res.end(JSON.stringify(body));
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** An error page for the browser: what providers show instead of redirecting to an unverified redirect_uri. */
export function sendHtmlError(res: ServerResponse, status: number, title: string, message: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(
    `<!doctype html><html><head><title>${escapeHtml(title)}</title></head>` +
      `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>`,
  );
}

/** A 302 back to the client's redirect_uri with `params` added to its query. */
export function redirectBack(res: ServerResponse, redirectUri: string, params: Record<string, string | null>): void {
  const back = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== null) back.searchParams.set(k, v);
  res.writeHead(302, { location: back.href, 'cache-control': 'no-store' });
  res.end();
}

/**
 * A server on 127.0.0.1 at a port the system picks. A handler that throws answers 500 (and the
 * error reaches the test's output) rather than leaving the request hanging.
 */
export async function startServer(
  name: string,
  handler: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${name}`);
    Promise.resolve()
      .then(() => handler(req, res, url))
      .catch((error: unknown) => {
        console.error(`${name}: ${req.method} ${url.pathname} failed`, error);
        if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
        else res.end();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}` };
}

/** Closes the server now, including kept-alive connections (fetch keeps them open). */
export async function stopServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A code issued by an authorization endpoint, before it is redeemed (once). */
export interface PendingCode<User> {
  user: User;
  redirectUri: string;
  scope: string;
  nonce: string | null;
  challenge: { value: string; method: string } | null;
  authTime: number;
}

/** The PKCE challenge of an authorization request, if any; `plain` when no method is named (RFC 7636 §4.3). */
export function challengeOf(url: URL): { value: string; method: string } | null {
  const value = url.searchParams.get('code_challenge');
  if (value === null) return null;
  return { value, method: url.searchParams.get('code_challenge_method') ?? 'plain' };
}

/**
 * Property-based fuzzing of every public endpoint (fast-check), shared by the short run in
 * `npm test` (tests/fuzz.test.ts) and the long one (`npm run fuzz -- --runs 100000`,
 * tests/fuzz-run.ts).
 *
 * The target is a real gateway (federated to the fake Google, dynamic registration on, rate
 * limits off so that every request reaches its handler) and a second one in development mode (the
 * development IdP and the demo app mounted). Requests mix random input with real material taken
 * from a signed-in session (cookies, tokens, client credentials, an interaction in progress), so
 * the fuzzer reaches past the first check of each endpoint; JWTs come in every broken shape:
 * `alg: none`, an unknown `kid`, the right `kid` with the wrong key, the right key with the wrong
 * `typ`, audience or issuer, expired, not yet valid, oversized, truncated, bit-flipped, non-UTF-8.
 *
 * The property, for every answer: never a 5xx; never a hang (each request has a deadline); never a
 * stack trace, a source path or a server-side secret in the body; always well formed: an error is
 * JSON (RFC 6749 error or RFC 9457 problem document, matching the status) or an HTML page, a
 * redirect has a Location.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import fc from 'fast-check';
import { importJWK, SignJWT, type JWK } from 'jose';
import type { FastifyInstance } from 'fastify';
import { createBrowser, type Browser } from './browser.ts';
import { signInAtFakeGoogle } from './fake-google.ts';
import { authorizeInBrowser, confidentialClient, discoverApp, signIn, startAuthorization } from './relying-party.ts';
import { startLoggedGateway, TEST_SECRET, type LoggedGateway } from './logged-gateway.ts';
import { UPSTREAM_CLIENT } from './start-gateway.ts';

export const REGISTRATION_TOKEN = 'fuzz-registration-token-0123456789abcdef0123';
const REQUEST_DEADLINE_MS = 10_000;

/** Everything real the fuzzer may send, and every secret it must never see back. */
export interface FuzzMaterial {
  clientIds: string[];
  /** `Basic` credentials, good and bad. */
  basic: string[];
  /** Tokens and JWTs of every kind. */
  tokens: string[];
  cookies: string[];
  interactionUids: string[];
  redirectUris: string[];
  /** Server-side secrets: none may appear in any answer. */
  secrets: string[];
}

export interface FuzzTarget {
  name: string;
  app: FastifyInstance;
  url: string;
  paths: string[];
  material: FuzzMaterial;
  close(): Promise<void>;
}

/** A generated request. */
export interface FuzzRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD' | 'OPTIONS' | 'PATCH';
  path: string;
  query: Array<[string, string]>;
  headers: Record<string, string>;
  body?: string | Buffer | undefined;
}

/** An answer as the checker sees it. */
export interface FuzzAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** The public paths of the gateway (the OpenID Provider's from discovery). */
const GATEWAY_PATHS = [
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
  '/jwks',
  '/auth',
  '/auth/:uid',
  '/token',
  '/token/introspection',
  '/token/revocation',
  '/me',
  '/reg',
  '/reg/:client',
  '/session/end',
  '/session/end/confirm',
  '/session/end/success',
  '/request',
  '/healthz',
  '/readyz',
  '/metrics',
  '/assets/gateway.css',
  '/oauth2/auth',
  '/oauth2/sign_in',
  '/oauth2/start',
  '/oauth2/callback',
  '/oauth2/sign_out',
  '/oauth2/userinfo',
  '/upstream/callback',
  '/interaction/:uid',
  '/interaction/:uid/confirm',
  '/interaction/:uid/abort',
  '/',
  '/favicon.ico',
];

const DEV_PATHS = [
  '/demo',
  '/demo/login',
  '/demo/callback',
  '/demo/logout',
  '/dev-idp',
  '/dev-idp/.well-known/openid-configuration',
  '/dev-idp/auth',
  '/dev-idp/token',
  '/dev-idp/me',
  '/dev-idp/jwks',
  '/dev-idp/interaction/:uid',
  '/dev-idp/interaction/:uid/confirm',
  '/dev-idp/interaction/:uid/abort',
  '/dev-idp/token/revocation',
];

/** Parameter names the endpoints read (OAuth, OIDC, forward auth, the forms), and some they do not. */
const PARAM_NAMES = [
  'client_id',
  'client_secret',
  'redirect_uri',
  'response_type',
  'response_mode',
  'scope',
  'state',
  'nonce',
  'code',
  'code_verifier',
  'code_challenge',
  'code_challenge_method',
  'prompt',
  'max_age',
  'id_token_hint',
  'login_hint',
  'ui_locales',
  'claims',
  'acr_values',
  'request',
  'request_uri',
  'resource',
  'audience',
  'grant_type',
  'refresh_token',
  'token',
  'token_type_hint',
  'subject_token',
  'subject_token_type',
  'requested_token_type',
  'client_assertion',
  'client_assertion_type',
  'post_logout_redirect_uri',
  'logout',
  'xsrf',
  'csrf',
  'rd',
  'error',
  'error_description',
  'iss',
  'email',
  'name',
  'sub',
  'hd',
  'email_verified',
  'access_type',
  'authorization_details',
  'dpop_jkt',
  'registration',
  'client_name',
  'redirect_uris',
  'token_endpoint_auth_method',
  'jwks',
  'jwks_uri',
  '__proto__',
  'constructor',
];

/** Redirect targets an attacker tries (RFC 9700 §4.1, §4.11): foreign, tricky, malformed. */
const HOSTILE_URLS = [
  'https://evil.example/',
  '//evil.example/',
  '/\\evil.example',
  '\\\\evil.example',
  'https:evil.example',
  'javascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'https://evil.example%2F@127.0.0.1/',
  'https://127.0.0.1@evil.example/',
  'http://[::1]:9/',
  'https://xn--80ak6aa92e.com/',
  '/%2F%2Fevil.example',
  '/%5Cevil.example',
  'http://127.0.0.1:9/app/callback#x',
  'http://127.0.0.1:9/app/callback?code=1',
  '%00',
  '/../../etc/passwd',
  'https://evil.example/\r\nSet-Cookie: x=1',
  'http://localhost:4000/.evil.example',
  'HTTPS://EVIL.EXAMPLE',
  ' https://evil.example',
];

/** A JWT from raw parts (so any header or payload, valid or not, can be built). */
function rawJwt(header: object | Buffer, payload: object | Buffer, signature = ''): string {
  const part = (value: object | Buffer) => b64url(Buffer.isBuffer(value) ? value : JSON.stringify(value));
  return `${part(header)}.${part(payload)}.${signature}`;
}

/** JWTs in every broken shape, signed with the gateway's own key where that makes them nearly valid. */
async function jwtVariants(
  issuer: string,
  realKey: JWK & { kid: string; alg: string },
  realTokens: string[],
): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer,
    sub: 'fuzz-user',
    aud: 'gateway-forward-auth',
    client_id: 'gateway-forward-auth',
    iat: now,
    exp: now + 300,
    jti: 'fuzz',
    email: 'fuzz@example.com',
  };
  const real = await importJWK(realKey, realKey.alg);
  const { privateKey: otherKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sign = async (payload: object, header: Record<string, unknown>, key: Parameters<SignJWT['sign']>[0] = real) =>
    new SignJWT({ ...payload } as Record<string, unknown>).setProtectedHeader({ alg: 'ES256', ...header }).sign(key);
  const valid = await sign(claims, { kid: realKey.kid, typ: 'at+jwt' });
  const variants = [
    valid,
    rawJwt({ alg: 'none', typ: 'at+jwt' }, claims),
    rawJwt({ alg: 'none' }, claims, 'x'),
    rawJwt(
      { alg: 'HS256', kid: realKey.kid, typ: 'at+jwt' },
      claims,
      b64url(createHash('sha256').update('x').digest()),
    ),
    await sign(claims, { kid: 'unknown-kid', typ: 'at+jwt' }, otherKey),
    await sign(claims, { kid: realKey.kid, typ: 'at+jwt' }, otherKey),
    await sign(claims, { kid: realKey.kid, typ: 'JWT' }),
    await sign(claims, { kid: realKey.kid }),
    await sign({ ...claims, iat: now - 7200, exp: now - 3600 }, { kid: realKey.kid, typ: 'at+jwt' }),
    await sign({ ...claims, iat: now + 3600, nbf: now + 3600, exp: now + 7200 }, { kid: realKey.kid, typ: 'at+jwt' }),
    await sign({ ...claims, iss: 'https://evil.example' }, { kid: realKey.kid, typ: 'at+jwt' }),
    await sign({ ...claims, aud: 'someone-else' }, { kid: realKey.kid, typ: 'at+jwt' }),
    await sign({ ...claims, sub: 42, exp: 'soon' }, { kid: realKey.kid, typ: 'at+jwt' }),
    await sign({ ...claims, padding: 'x'.repeat(8_000) }, { kid: realKey.kid, typ: 'at+jwt' }),
    await sign({ ...claims, session_uid: { $ne: null }, groups: 'not-a-list' }, { kid: realKey.kid, typ: 'at+jwt' }),
    await sign(
      { ...claims, email: { toLowerCase: 1 }, groups: [1, null, 'ops'], preferred_username: ['x'] },
      { kid: realKey.kid, typ: 'at+jwt' },
    ),
    rawJwt(Buffer.from([0xff, 0xfe, 0x7b, 0x22]), Buffer.from([0xc3, 0x28, 0xa0, 0xa1])),
    rawJwt({ alg: 'ES256', kid: realKey.kid, typ: 'at+jwt', crit: ['exp'] }, claims, 'AAAA'),
    rawJwt({ alg: 'ES256', kid: realKey.kid, jku: 'https://evil.example/jwks', typ: 'at+jwt' }, claims, 'AAAA'),
    rawJwt({ alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }, typ: 'at+jwt' }, claims, 'AAAA'),
    '..',
    'a.b.c',
    'a.b',
    'eyJ',
    `${valid}.extra`,
    `${valid}~`,
    'e30.e30.',
  ];
  for (const token of [valid, ...realTokens]) {
    variants.push(token.slice(0, Math.floor(token.length / 2)));
    variants.push(token.slice(0, -3));
    const flip = Math.floor(token.length * 0.6);
    variants.push(token.slice(0, flip) + (token[flip] === 'A' ? 'B' : 'A') + token.slice(flip + 1));
  }
  return variants;
}

/** Signs in through the fake Google and collects real material: tokens, cookies, an interaction. */
type TestClient = ReturnType<typeof confidentialClient>;

async function collectMaterial(
  gw: LoggedGateway,
  clients:
    | { firstParty: TestClient; thirdParty: TestClient; others: Array<{ client_id: string; redirect_uris: string[] }> }
    | undefined,
): Promise<FuzzMaterial> {
  const known = clients ? [clients.firstParty, clients.thirdParty] : [];
  const devMode = clients === undefined;
  const material: FuzzMaterial = {
    clientIds: [...known, ...(clients?.others ?? [])]
      .map((c) => c.client_id)
      .concat(['gateway-forward-auth', 'demo', 'nobody', '']),
    basic: [],
    tokens: [],
    cookies: [],
    interactionUids: [],
    redirectUris: [...known, ...(clients?.others ?? [])].flatMap((c) => [...c.redirect_uris]),
    secrets: [TEST_SECRET, UPSTREAM_CLIENT.secret, REGISTRATION_TOKEN, ...known.map((c) => c.client_secret)],
  };
  for (const c of known) {
    material.basic.push(
      `${c.client_id}:${c.client_secret}`,
      `${c.client_id}:wrong`,
      `${encodeURIComponent(c.client_id)}:`,
      `${c.client_id}`,
    );
  }
  const keys = gw.app.gateway.keys;
  for (const key of keys.view().published) {
    if (typeof key.d === 'string') material.secrets.push(key.d);
  }
  const collectCookies = (browser: Browser) => {
    for (const cookie of browser.cookies(gw.url)) material.cookies.push(`${cookie.name}=${cookie.value}`);
  };

  if (!devMode) {
    const { firstParty, thirdParty } = clients;
    const app = await discoverApp(gw.issuer, firstParty);
    const browser = createBrowser();
    const tokens = await signIn(browser, app, gw.google.issuer, { email: 'fuzz@example.com' });
    material.tokens.push(tokens.access_token, tokens.id_token ?? '', tokens.refresh_token ?? '');
    collectCookies(browser);
    // Forward auth: its cookie holds a gateway JWT and a session id.
    const fa = createBrowser();
    const start = await fa.follow(`${gw.url}/oauth2/start?rd=/`, (url) => url.href.startsWith(gw.google.issuer));
    const back = await signInAtFakeGoogle(start.location?.href ?? '', (u, init) => fa.fetch(u, init), {
      email: 'fuzz-fa@example.com',
    });
    await fa.follow(back);
    collectCookies(fa);
    for (const cookie of fa.cookies(gw.url))
      if (cookie.name === '_gateway_auth') material.tokens.push(cookie.value.split('~')[0] ?? '');
    // An interaction in progress: the consent page of a third-party client.
    const shop = await discoverApp(gw.issuer, thirdParty);
    const consent = createBrowser();
    const { page } = await authorizeInBrowser(consent, shop, await startAuthorization(shop), gw.google.issuer, {
      email: 'fuzz-consent@example.com',
    });
    const uid = /\/interaction\/([^/?#]+)/.exec(page?.url ?? '')?.[1];
    if (uid) material.interactionUids.push(uid);
    const csrf = /name="csrf" value="([^"]+)"/.exec((await page?.text()) ?? '')?.[1];
    if (csrf) material.tokens.push(csrf);
    collectCookies(consent);
    // A dynamically registered client and its registration access token.
    const registered = await fetch(`${gw.url}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${REGISTRATION_TOKEN}` },
      body: JSON.stringify({ redirect_uris: ['https://fuzz.example.com/cb'], client_name: 'Fuzz' }),
    });
    const reg = (await registered.json()) as {
      client_id?: string;
      client_secret?: string;
      registration_access_token?: string;
    };
    if (reg.client_id) material.clientIds.push(reg.client_id);
    if (reg.client_secret) material.secrets.push(reg.client_secret);
    if (reg.registration_access_token) material.tokens.push(reg.registration_access_token);
  } else {
    // Development mode: walk the demo app to the development IdP's sign-in form.
    const browser = createBrowser();
    const toIdp = await browser.follow(`${gw.url}/demo/login`, (url) =>
      url.pathname.startsWith('/dev-idp/interaction/'),
    );
    const uid = /\/dev-idp\/interaction\/([^/?#]+)/.exec(toIdp.location?.href ?? toIdp.url.href)?.[1];
    if (uid) material.interactionUids.push(uid);
    collectCookies(browser);
  }
  material.tokens.push(
    ...(await jwtVariants(
      gw.issuer,
      keys.accessTokenKey(),
      material.tokens.filter((t) => t.split('.').length === 3),
    )),
  );
  material.tokens = [...new Set(material.tokens.filter(Boolean))];
  material.secrets = [...new Set(material.secrets.filter((s) => s.length >= 16))];
  return material;
}

/** Starts the two fuzz targets: federated and development mode. */
export async function startFuzzTargets(): Promise<FuzzTarget[]> {
  const firstParty = confidentialClient('fuzz-app');
  const thirdParty = confidentialClient('fuzz-shop', { first_party: false, client_name: 'Fuzz Shop' });
  const spa = {
    client_id: 'fuzz-spa',
    token_endpoint_auth_method: 'none' as const,
    redirect_uris: ['http://127.0.0.1:9/fuzz-spa/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    first_party: true,
  };
  const env = {
    GATEWAY_REGISTRATION_TOKEN: REGISTRATION_TOKEN,
    // Off, so that every request reaches its handler: the fuzzer fails on purpose thousands of
    // times from one address, which the failure-based limits would refuse after a few hundred.
    GATEWAY_CLIENT_FAILURE_LIMIT: '0',
    GATEWAY_ADDRESS_FAILURE_LIMIT: '0',
    GATEWAY_SIGN_IN_LIMIT: '0',
    GATEWAY_API_PATHS: '/api',
    GATEWAY_HOST_RULES: '[{"host":"127.0.0.1","allowed_email_domains":["example.com"]}]',
  };
  const federated = await startLoggedGateway({ clients: [firstParty, spa, thirdParty], env, quiet: true });
  const targets: FuzzTarget[] = [
    {
      name: 'federated',
      app: federated.app,
      url: federated.url,
      paths: GATEWAY_PATHS,
      material: await collectMaterial(federated, { firstParty, thirdParty, others: [spa] }),
      close: () => federated.close(),
    },
  ];
  // Development mode: no upstream client; the development IdP and the demo app are mounted.
  const dev = await startLoggedGateway({
    env: { ...env, UPSTREAM_CLIENT_ID: '', UPSTREAM_CLIENT_SECRET: '' },
    quiet: true,
  });
  targets.push({
    name: 'development',
    app: dev.app,
    url: dev.url,
    paths: [...GATEWAY_PATHS, ...DEV_PATHS],
    material: await collectMaterial(dev, undefined),
    close: () => dev.close(),
  });
  return targets;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** fc.constantFrom over a list that may be empty. */
const oneOf = (...values: string[]) => fc.constantFrom(...(values.length > 0 ? values : ['']));

const anyText = (maxLength = 40) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        ' ',
        '%',
        '%zz',
        '%C3%28',
        '%FF%FE',
        '%00',
        '\u0000',
        '\uFFFD',
        '\u202E',
        '𝔘',
        '[object Object]',
        'null',
        'undefined',
        '-1',
        '1e309',
        'NaN',
        '0x10',
        '999999999999999999999',
      ),
    },
    { weight: 1, arbitrary: fc.nat(20_000).map((n) => 'x'.repeat(n)) },
  );

/** A header value Node will send: visible ASCII and Latin-1, no CR, LF or NUL. */
const headerSafe = (text: string) => text.replace(/[^\t\x20-\x7e\x80-\xff]/g, '');

function valueArbitrary(material: FuzzMaterial) {
  return fc.oneof(
    { weight: 4, arbitrary: anyText() },
    { weight: 3, arbitrary: oneOf(...material.tokens) },
    { weight: 2, arbitrary: oneOf(...material.clientIds) },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_URLS, ...material.redirectUris) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'code',
        'none',
        'id_token',
        'code id_token',
        'openid',
        'openid email profile offline_access',
        'S256',
        'plain',
        'authorization_code',
        'refresh_token',
        'client_credentials',
        'urn:ietf:params:oauth:grant-type:token-exchange',
        'urn:ietf:params:oauth:token-type:access_token',
        'form_post',
        'query',
        'fragment',
        'web_message',
        'login',
        'consent',
        'select_account',
        'yes',
        'true',
        'false',
        'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      ),
    },
    { weight: 1, arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 2 }) },
  );
}

function paramsArbitrary(material: FuzzMaterial) {
  const name = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...PARAM_NAMES) },
    { weight: 1, arbitrary: anyText(12) },
  );
  return fc.array(fc.tuple(name, valueArbitrary(material)), { maxLength: 10 });
}

/** The method each path is meant for (the rest get GET first). */
const POSTED =
  /^\/(token|reg$|request$|session\/end\/confirm|interaction\/:uid\/|dev-idp\/token|dev-idp\/interaction\/:uid)/;

function methodArbitrary(path: string): fc.Arbitrary<FuzzRequest['method']> {
  const natural = POSTED.test(path) ? 'POST' : 'GET';
  const other: Array<FuzzRequest['method']> = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'];
  return fc.oneof({ weight: 4, arbitrary: fc.constant(natural) }, { weight: 1, arbitrary: fc.constantFrom(...other) });
}

/** `pattern` with its id filled in: real ones mostly, random ones too. */
function pathFor(target: FuzzTarget, pattern: string): fc.Arbitrary<string> {
  if (!/:uid|:client/.test(pattern)) return fc.constant(pattern);
  const id = fc.oneof(
    { weight: 3, arbitrary: oneOf(...target.material.interactionUids, ...target.material.clientIds) },
    { weight: 1, arbitrary: anyText(30).map(encodeURIComponent) },
  );
  return id.map((value) => pattern.replace(/:uid|:client/, value || 'x'));
}

function pathArbitrary(target: FuzzTarget) {
  const uid = fc.oneof(
    oneOf(...target.material.interactionUids, ...target.material.clientIds),
    anyText(30).map(encodeURIComponent),
  );
  const known = fc
    .tuple(fc.constantFrom(...target.paths), uid)
    .map(([path, id]) => path.replace(/:uid|:client/, id || 'x'));
  const mangled = fc
    .tuple(fc.constantFrom(...target.paths), anyText(20))
    .map(([path, extra]) => `${path}${encodeURI(extra).replace(/[?#]/g, '')}`);
  const tricky = fc.constantFrom(
    '//',
    '/./oauth2/auth',
    '/oauth2/../token',
    '/%2e%2e/token',
    '/OAUTH2/AUTH',
    '/oauth2/auth/',
    '/token%00',
    '/interaction/%2F..%2F..',
    '/dev-idp/../token',
    `/${'a/'.repeat(200)}`,
    `/interaction/${'u'.repeat(200)}`,
  );
  return fc.oneof({ weight: 8, arbitrary: known }, { weight: 1, arbitrary: mangled }, { weight: 1, arbitrary: tricky });
}

function cookieArbitrary(material: FuzzMaterial) {
  const token = oneOf(...material.tokens);
  const one = fc.oneof(
    oneOf(...material.cookies),
    fc
      .tuple(token, anyText(20), anyText(22))
      .map(([jwt, sid, bound]) => `_gateway_auth=${jwt}~${encodeURIComponent(sid)}~${encodeURIComponent(bound)}`),
    fc
      .tuple(
        fc.constantFrom(
          '_gateway_auth',
          'gw_session',
          'gw_session.sig',
          'gw_interaction',
          'gw_interaction.sig',
          'gw_resume',
          'gw_upstream',
          '_gateway_auth_tx_abc',
          'demo_session',
          '_dev_idp_session',
          '_dev_idp_interaction',
        ),
        anyText(60),
      )
      .map(([name, value]) => `${name}=${encodeURIComponent(value)}`),
    anyText(80).map(headerSafe),
  );
  return fc.array(one, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('; '));
}

function authorizationArbitrary(material: FuzzMaterial) {
  return fc.oneof(
    oneOf(...material.tokens).map((t) => `Bearer ${t}`),
    oneOf(...material.basic, 'a:b', ':', 'x').map((c) => `Basic ${Buffer.from(c).toString('base64')}`),
    fc.constantFrom(
      'Bearer',
      'Bearer ',
      'Basic',
      'Basic !!!',
      `Basic ${b64url(Buffer.from([0xff, 0x3a, 0xfe]))}`,
      'DPoP abc',
      'bearer a b c',
      'Negotiate x',
    ),
    anyText(60).map((t) => `Bearer ${headerSafe(t)}`),
    anyText(60).map(headerSafe),
  );
}

function headersArbitrary(material: FuzzMaterial) {
  const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
  return fc
    .record({
      cookie: optional(cookieArbitrary(material)),
      authorization: optional(authorizationArbitrary(material)),
      accept: optional(
        fc.constantFrom(
          'text/html',
          'application/json',
          '*/*',
          'text/html,application/xhtml+xml',
          'application/problem+json',
          'image/png',
          '',
        ),
      ),
      'content-type': optional(
        fc.constantFrom(
          'application/x-www-form-urlencoded',
          'application/x-www-form-urlencoded; charset=utf-8',
          'application/x-www-form-urlencoded; charset=latin1',
          'application/x-www-form-urlencoded; charset=bogus',
          'application/json',
          'application/json; charset=utf-16',
          'text/plain',
          'multipart/form-data; boundary=x',
          'application/jwt',
          'application/xml',
          '*/*',
          ';;;',
          'application/json; charset=',
        ),
      ),
      'accept-language': optional(
        fc.oneof(
          fc.constantFrom('ko', 'en-US,en;q=0.9', 'ko-KR;q=0.8,*;q=0.1', '*', 'q=;;', ''),
          anyText(30).map(headerSafe),
        ),
      ),
      'x-forwarded-for': optional(
        fc.oneof(
          fc.constantFrom('203.0.113.9', '::1', '1.1.1.1, 2.2.2.2', 'unknown', '[::ffff:1.2.3.4]', ''),
          anyText(20).map(headerSafe),
        ),
      ),
      'x-forwarded-proto': optional(fc.constantFrom('https', 'http', 'HTTPS', 'ftp', 'https,http', '')),
      'x-forwarded-host': optional(
        fc.oneof(
          fc.constantFrom('evil.example', 'app.example.com', '127.0.0.1:1', 'a b', '[::1]', 'host:99999', 'xn--', '..'),
          anyText(20).map(headerSafe),
        ),
      ),
      'x-forwarded-uri': optional(fc.constantFrom(...HOSTILE_URLS.map(headerSafe), '/ok')),
      'x-auth-request-redirect': optional(fc.constantFrom(...HOSTILE_URLS.map(headerSafe))),
      'x-original-uri': optional(fc.constantFrom(...HOSTILE_URLS.map(headerSafe))),
      origin: optional(fc.constantFrom('https://evil.example', 'null', 'http://127.0.0.1:9', '')),
      'sec-fetch-site': optional(fc.constantFrom('cross-site', 'same-site', 'same-origin', 'none', 'bogus')),
      dpop: optional(oneOf(...material.tokens)),
    })
    .map((headers) =>
      Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined)),
    );
}

function bodyArbitrary(material: FuzzMaterial) {
  const params = paramsArbitrary(material);
  return fc.oneof(
    { weight: 4, arbitrary: params.map((list) => new URLSearchParams(list).toString()) },
    { weight: 2, arbitrary: params.map((list) => JSON.stringify(Object.fromEntries(list))) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: anyText(200) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '{"redirect_uris":',
        '[]',
        'null',
        '{"__proto__":{"admin":true}}',
        '{"redirect_uris":[{}],"jwks":{"keys":[1]}}',
        'a=%zz&b=%',
        '=&=&&=',
        'grant_type[]=x&grant_type[]=y',
      ),
    },
  );
}

/** A random request for `target`. */
export function requestArbitrary(target: FuzzTarget): fc.Arbitrary<FuzzRequest> {
  const { material } = target;
  return fc.constantFrom(...target.paths).chain((pattern) =>
    fc.record({
      method: methodArbitrary(pattern),
      path: fc.oneof(
        { weight: 6, arbitrary: pathFor(target, pattern) },
        { weight: 1, arbitrary: pathArbitrary(target) },
      ),
      query: paramsArbitrary(material),
      headers: headersArbitrary(material),
      body: fc.option(bodyArbitrary(material), { nil: undefined, freq: POSTED.test(pattern) ? 5 : 2 }),
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Sending and checking

function urlOf(request: FuzzRequest): string {
  const query = request.query.length > 0 ? `?${new URLSearchParams(request.query).toString()}` : '';
  return `${request.path}${query}`;
}

/** Sends `request` through Fastify's `inject` (fast; the same routes, hooks and handlers). */
export async function injectRequest(target: FuzzTarget, request: FuzzRequest): Promise<FuzzAnswer> {
  const withBody = request.body !== undefined && request.method !== 'GET' && request.method !== 'HEAD';
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${REQUEST_DEADLINE_MS} ms (a hang)`)),
      REQUEST_DEADLINE_MS,
    );
  });
  try {
    const response = await Promise.race([
      target.app.inject({
        method: request.method,
        url: urlOf(request),
        headers: request.headers,
        ...(withBody ? { payload: request.body } : {}),
      }),
      deadline,
    ]);
    return { status: response.statusCode, headers: response.headers as FuzzAnswer['headers'], body: response.body };
  } finally {
    clearTimeout(timer);
  }
}

/** Signs of a leaked exception: a stack frame, a source path, an error class name. */
const STACK_TRACE =
  /\n\s+at \S|\bat (?:async )?[\w$.<>]+ \((?:file:|node:|\/)|node_modules\/|\/work\/|file:\/\/\/|\.ts:\d+:\d+|\.js:\d+:\d+|\b(?:TypeError|ReferenceError|RangeError|SyntaxError|AssertionError)\b/;

/** Undefined when the answer is acceptable, else what is wrong with it. */
export function checkAnswer(target: FuzzTarget, request: FuzzRequest, answer: FuzzAnswer): string | undefined {
  const { status, body } = answer;
  const type = String(answer.headers['content-type'] ?? '');
  if (status >= 500) return `status ${status}`;
  if (STACK_TRACE.test(body)) return `a stack trace or source path in the body: ${JSON.stringify(body.slice(0, 300))}`;
  for (const secret of target.material.secrets) {
    if (body.includes(secret)) return `a server-side secret (${secret.slice(0, 4)}…) in the body`;
  }
  if (request.method === 'HEAD' || status === 204 || status === 304) return undefined;
  if (status >= 300 && status < 400) {
    return answer.headers['location'] ? undefined : `a ${status} without Location`;
  }
  if (status < 300) {
    if (body.length > 0 && type === '') return `a ${status} body without a content type`;
    if (/json/.test(type)) {
      try {
        JSON.parse(body);
      } catch {
        return `a ${status} ${type} body that is not JSON`;
      }
    }
    return undefined;
  }
  // An error: JSON (RFC 6749 §5.2 error, or RFC 9457 problem document) or a page.
  if (/^text\/html/.test(type))
    return /<html|<!doctype html/i.test(body) ? undefined : `a ${status} "HTML" answer that is no page`;
  if (/^application\/(problem\+)?json/.test(type)) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return `a ${status} JSON error that does not parse: ${JSON.stringify(body.slice(0, 200))}`;
    }
    if (type.startsWith('application/problem+json')) {
      if (parsed['status'] !== status || typeof parsed['title'] !== 'string' || typeof parsed['type'] !== 'string')
        return `a problem document that does not match its status ${status}: ${body.slice(0, 200)}`;
      return undefined;
    }
    return typeof parsed['error'] === 'string'
      ? undefined
      : `a ${status} JSON error without "error": ${body.slice(0, 200)}`;
  }
  return `a ${status} with content type "${type}": ${JSON.stringify(body.slice(0, 200))}`;
}

/** A property over `target`: every generated request gets an acceptable answer. */
export function endpointProperty(target: FuzzTarget, stats?: FuzzStats) {
  return fc.asyncProperty(requestArbitrary(target), async (request) => {
    const answer = await injectRequest(target, request);
    stats?.count(answer.status);
    const problem = checkAnswer(target, request, answer);
    if (problem) throw new Error(`${target.name}: ${request.method} ${urlOf(request).slice(0, 300)}: ${problem}`);
  });
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP: bytes no HTTP client library would send

/** Request heads with raw bytes in the path, query and header values. */
export function rawRequestArbitrary(target: FuzzTarget): fc.Arbitrary<Buffer> {
  // Header values: printable ASCII and bytes over 0x7f (not UTF-8: Latin-1, broken sequences),
  // the odd tab or control character (which the HTTP parser must refuse with a clean 400).
  const byte = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 3, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
    { weight: 1, arbitrary: fc.constantFrom(0x09, 0x00, 0x01, 0x1b, 0x7f) },
  );
  const bytes = fc.array(byte, { minLength: 1, maxLength: 60 }).map((b) => Buffer.from(b));
  // URLs: printable ASCII with percent-encoded bytes of any value (%FF, %C3%28, %00); now and
  // then a raw byte over 0x7f or a control character, for the parser.
  const urlChar = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)) },
    {
      weight: 3,
      arbitrary: fc.integer({ min: 0, max: 255 }).map((c) => `%${c.toString(16).padStart(2, '0').toUpperCase()}`),
    },
    { weight: 1, arbitrary: fc.constantFrom('\xff', '\xc3\x28', '\x01', '\x7f') },
  );
  const urlTail = fc
    .array(urlChar, { minLength: 1, maxLength: 40 })
    .map((parts) => Buffer.from(parts.join('').replace(/#/g, '%23'), 'latin1'));
  const path = fc
    .tuple(
      fc.constantFrom(...target.paths),
      urlTail,
      fc.constantFrom('', '?rd=', '?redirect_uri=', '?state=', '?client_id=', '/'),
    )
    .map(([p, b, joint]) => Buffer.concat([Buffer.from(p.replace(/:uid|:client/, 'x')), Buffer.from(joint), b]));
  const header = fc
    .tuple(
      fc.constantFrom(
        'Cookie',
        'Authorization',
        'Accept-Language',
        'Accept',
        'X-Forwarded-Host',
        'X-Forwarded-Proto',
        'X-Forwarded-For',
        'X-Forwarded-Uri',
        'X-Original-URI',
        'Content-Type',
        'Host',
        'X-Auth-Request-Redirect',
        'Origin',
        'Sec-Fetch-Site',
      ),
      bytes,
    )
    .map(([name, value]) => Buffer.concat([Buffer.from(`${name}: `), value, Buffer.from('\r\n')]));
  return fc
    .tuple(
      fc.constantFrom('GET', 'POST', 'GET'),
      path,
      fc.array(header, { maxLength: 3 }),
      fc.option(bytes, { nil: undefined }),
    )
    .map(([method, p, headers, body]) =>
      Buffer.concat([
        Buffer.from(`${method} `),
        p,
        Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n'),
        ...headers,
        Buffer.from(
          body ? `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n` : '\r\n',
        ),
        body ?? Buffer.alloc(0),
      ]),
    );
}

/** Sends raw bytes over a socket and reads the answer until the server closes. */
export function rawExchange(url: string, bytes: Buffer): Promise<FuzzAnswer> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    // write, not end: a half-closed connection gets no answer from Node (allowHalfOpen is off);
    // `Connection: close` makes the server close it after the answer.
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${REQUEST_DEADLINE_MS} ms (a hang)`));
    }, REQUEST_DEADLINE_MS);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const headEnd = text.indexOf('\r\n\r\n');
      const head = headEnd < 0 ? text : text.slice(0, headEnd);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body = headEnd < 0 ? '' : Buffer.from(text.slice(headEnd + 4), 'latin1').toString('utf8');
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = body.replace(/(?:^|\r\n)[0-9a-f]+\r\n/gi, '');
      resolve({ status, headers, body });
    });
  });
}

/** The raw property: any bytes get a well-formed answer (or a clean 4xx from the HTTP parser). */
export function rawProperty(target: FuzzTarget, stats?: FuzzStats) {
  return fc.asyncProperty(rawRequestArbitrary(target), async (bytes) => {
    const answer = await rawExchange(target.url, bytes);
    stats?.count(answer.status);
    if (answer.status === 0)
      throw new Error(`${target.name}: no HTTP answer to ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`);
    const problem = checkAnswer(
      target,
      { method: bytes.toString('latin1').startsWith('HEAD') ? 'HEAD' : 'GET', path: '', query: [], headers: {} },
      answer,
    );
    if (problem)
      throw new Error(`${target.name}: ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}: ${problem}`);
  });
}

/** Counts answers by status, for the report. */
export class FuzzStats {
  readonly byStatus = new Map<number, number>();
  total = 0;
  count(status: number): void {
    this.total += 1;
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
  }
  summary(): string {
    return [...this.byStatus.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([status, n]) => `${status}: ${n}`)
      .join(', ');
  }
}

/** A seed for a run, from the environment (FUZZ_SEED) to replay one, else random. */
export function fuzzSeed(): number {
  const fromEnv = process.env['FUZZ_SEED'];
  return fromEnv ? Number(fromEnv) : randomBytes(4).readUInt32LE(0);
}

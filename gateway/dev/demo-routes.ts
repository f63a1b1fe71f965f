/**
 * The demo app of development mode: a tiny relying party, registered as the first-party client
 * `demo-app`, so that right after `npm start` a person can click through a whole sign-in at
 * `/demo` and see what an app receives (ID token claims, the access JWT, userinfo). It signs in
 * exactly as a real app would: openid-client, authorization code + PKCE + state + nonce, over
 * HTTP to the gateway's own endpoints. Its sessions live in memory (development only).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import type { ClientMetadata } from 'oidc-provider';
import { escapeHtml, layout } from '../web/pages/layout.ts';

const CLIENT_ID = 'demo-app';
const SESSION_COOKIE = 'gw_demo';
const TX_COOKIE = 'gw_demo_tx';
const MAX_SESSIONS = 1000;

export function demoClient(issuer: string, clientSecret: string): ClientMetadata {
  return {
    client_id: CLIENT_ID,
    client_secret: clientSecret,
    client_name: 'Demo app',
    redirect_uris: [`${issuer}/demo/callback`],
    post_logout_redirect_uris: [`${issuer}/demo`],
    grant_types: ['authorization_code', 'refresh_token'],
    first_party: true,
  };
}

interface DemoSession {
  idToken: string;
  idTokenClaims: Record<string, unknown>;
  accessTokenClaims: Record<string, unknown>;
  userinfo: Record<string, unknown>;
}

function page(body: string): string {
  return layout({ lang: 'en', brand: 'Gateway', title: 'Demo app', body });
}

function json(value: unknown): string {
  return `<pre>${escapeHtml(JSON.stringify(value, null, 2))}</pre>`;
}

export function demoRoutes(options: { issuer: string; clientSecret: string; secureCookies: boolean }) {
  return async function routes(app: FastifyInstance) {
    const sessions = new Map<string, DemoSession>();
    let configuration: Promise<client.Configuration> | undefined;
    const config = () => {
      configuration ??= client
        .discovery(new URL(options.issuer), CLIENT_ID, options.clientSecret, undefined, {
          execute: options.issuer.startsWith('http://') ? [client.allowInsecureRequests] : [],
        })
        .catch((error: unknown) => {
          configuration = undefined;
          throw error;
        });
      return configuration;
    };
    const cookieOptions = {
      path: '/demo',
      httpOnly: true,
      sameSite: 'lax' as const,
      secure: options.secureCookies,
      signed: true,
    };
    const session = (request: FastifyRequest) => {
      const raw = request.cookies[SESSION_COOKIE];
      const unsigned = raw ? request.unsignCookie(raw) : undefined;
      return unsigned?.valid && unsigned.value ? sessions.get(unsigned.value) : undefined;
    };

    app.get('/demo', async (request, reply) => {
      const current = session(request);
      reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
      if (!current) {
        return reply.send(
          page(`<h1>Demo app</h1>
<p>This app trusts the gateway's tokens. Sign in to see what it receives.</p>
<p><a class="button" href="/demo/login">Sign in</a></p>`),
        );
      }
      const name = String(
        current.userinfo['name'] ?? current.userinfo['preferred_username'] ?? current.userinfo['sub'],
      );
      return reply.send(
        page(`<h1>Signed in as ${escapeHtml(name)}</h1>
<h2>UserInfo</h2>${json(current.userinfo)}
<h2>ID token claims</h2>${json(current.idTokenClaims)}
<h2>Access token (RFC 9068 JWT) claims</h2>${json(current.accessTokenClaims)}
<p><a class="button" href="/demo/logout">Sign out</a></p>`),
      );
    });

    app.get('/demo/login', async (_request, reply) => {
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(await config(), {
        redirect_uri: `${options.issuer}/demo/callback`,
        scope: 'openid email profile',
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      reply.setCookie(TX_COOKIE, JSON.stringify({ codeVerifier, state, nonce }), { ...cookieOptions, maxAge: 600 });
      return reply.redirect(url.href, 303);
    });

    app.get('/demo/callback', async (request: FastifyRequest, reply: FastifyReply) => {
      const raw = request.cookies[TX_COOKIE];
      const unsigned = raw ? request.unsignCookie(raw) : undefined;
      reply.clearCookie(TX_COOKIE, { path: '/demo' });
      if (!unsigned?.valid || !unsigned.value) return reply.redirect('/demo', 303);
      const tx = JSON.parse(unsigned.value) as { codeVerifier: string; state: string; nonce: string };
      const configuration = await config();
      const tokens = await client.authorizationCodeGrant(configuration, new URL(request.url, options.issuer), {
        pkceCodeVerifier: tx.codeVerifier,
        expectedState: tx.state,
        expectedNonce: tx.nonce,
        idTokenExpected: true,
      });
      const idTokenClaims = tokens.claims() ?? {};
      const userinfo = await client.fetchUserInfo(
        configuration,
        tokens.access_token,
        String((idTokenClaims as Record<string, unknown>)['sub']),
      );
      if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value ?? '');
      const id = randomUUID();
      sessions.set(id, {
        idToken: tokens.id_token ?? '',
        idTokenClaims: { ...idTokenClaims },
        accessTokenClaims: decodeJwt(tokens.access_token),
        userinfo: { ...userinfo },
      });
      reply.setCookie(SESSION_COOKIE, id, cookieOptions);
      return reply.redirect('/demo', 303);
    });

    app.get('/demo/logout', async (request, reply) => {
      const current = session(request);
      reply.clearCookie(SESSION_COOKIE, { path: '/demo' });
      if (!current) return reply.redirect('/demo', 303);
      const url = client.buildEndSessionUrl(await config(), {
        id_token_hint: current.idToken,
        post_logout_redirect_uri: `${options.issuer}/demo`,
      });
      return reply.redirect(url.href, 303);
    });
  };
}

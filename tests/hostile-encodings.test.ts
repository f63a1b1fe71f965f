/**
 * Hostile percent-encodings (RFC 3986 §2.1) in the path and the query of every route family of a
 * development-mode gateway (the OpenID Provider's routes, registration, the gateway's own
 * interaction, forward-auth and upstream-callback routes, the development IdP): whatever the
 * router or a handler makes of them, the answer is the gateway's own (RFC 6749 §5.2 error JSON on
 * the OAuth endpoints, problem+json or a page elsewhere), never Fastify's default body and never
 * a 5xx. A path that does not decode is a 400 `invalid_request`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../config/load-config.ts';
import { buildGateway } from '../gateway/app/build-gateway.ts';
import { loggerOptions } from '../gateway/web/logger.ts';
import { freePort } from './helpers/start-gateway.ts';

/** Encodings that are not UTF-8 or not percent-encoding at all, and NUL, which decodes. */
const HOSTILE = ['%ff', '%c0%af', '%00', '%', '%zz'];
/** The ones no decoder accepts: the router refuses the path before any route. */
const UNDECODABLE = new Set(['%ff', '%c0%af', '%', '%zz']);

/** Paths with `E` where the encoding goes, per route family. */
const PATHS = [
  // OAuth endpoints (error JSON)
  '/reg/E',
  '/reg?client_id=E',
  '/token/E',
  '/token/introspection/E',
  '/me/E',
  // the OpenID Provider's other routes
  '/E',
  '/auth/E',
  '/auth?client_id=E&response_type=code&scope=openid',
  '/jwks/E',
  '/session/end/E',
  '/.well-known/E',
  // the gateway's interaction routes
  '/interaction/E',
  '/interaction/E/confirm',
  '/interaction/E/abort',
  '/interaction/x?uid=E',
  // forward auth
  '/oauth2/E',
  '/oauth2/start/E',
  '/oauth2/start?rd=E',
  '/oauth2/sign_out?rd=E',
  '/oauth2/auth/E',
  '/oauth2/callback?code=E&state=E',
  // the upstream callback
  '/upstream/callback/E',
  '/upstream/E/callback',
  '/upstream/callback?code=E&state=E',
  // the development IdP
  '/dev-idp/E',
  '/dev-idp/auth/E',
  '/dev-idp/interaction/E',
  '/dev-idp/interaction/E/abort',
  '/dev-idp/auth?client_id=E',
];
const OAUTH_PREFIXES = ['/reg', '/token', '/me'];

interface Answer {
  status: number;
  type: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request: fetch would refuse or normalise some of these URLs. */
function send(url: string, method: string, path: string, accept: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method,
        path,
        headers: { accept, 'content-type': 'application/x-www-form-urlencoded' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type'] ?? ''),
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(method === 'POST' ? 'x=1' : undefined);
  });
}

describe('hostile percent-encodings on every route family', () => {
  let app: FastifyInstance;
  let url: string;
  const logs: Array<{ level: number; msg?: string }> = [];

  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const loaded = loadConfig({
      GATEWAY_ISSUER: url,
      GATEWAY_PORT: String(port),
      GATEWAY_STORE: 'memory://',
      GATEWAY_REGISTRATION_TOKEN: 'registration-token-0123456789abcdef0123456789',
    });
    assert.ok(loaded.ok && loaded.config.devMode, 'a development-mode gateway (the development IdP mounted)');
    const stream = { write: (line: string) => logs.push(JSON.parse(line) as { level: number }) };
    app = await buildGateway(loaded.config, { logger: { ...(loggerOptions('info') as object), stream } });
    await app.listen({ host: '127.0.0.1', port });
  });
  after(async () => app?.close());

  it("answers each with the gateway's own error format, never Fastify's body, never a 5xx", async () => {
    const seen: string[] = [];
    for (const template of PATHS) {
      for (const encoding of HOSTILE) {
        const path = template.replaceAll('E', encoding);
        const undecodable = UNDECODABLE.has(encoding) && !template.includes('?');
        const oauth = OAUTH_PREFIXES.some(
          (prefix) => path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`),
        );
        for (const method of ['GET', 'POST']) {
          const answer = await send(url, method, path, 'application/json');
          const where = `${method} ${path} → ${answer.status} ${answer.type} ${answer.body.slice(0, 120)}`;
          seen.push(where);
          assert.ok(answer.status < 500, where);
          assert.doesNotMatch(answer.body, /FST_|"statusCode"|is not a valid url component/, where);
          if (answer.status >= 400) {
            const json = /json/.test(answer.type) ? (JSON.parse(answer.body) as Record<string, unknown>) : undefined;
            assert.ok(
              answer.type.startsWith('application/problem+json')
                ? json?.['status'] === answer.status
                : typeof json?.['error'] === 'string' || answer.type.startsWith('text/html'),
              where,
            );
          }
          if (undecodable) {
            assert.equal(answer.status, 400, where);
            if (oauth) {
              assert.match(answer.type, /^application\/json/, where);
              assert.deepEqual(
                JSON.parse(answer.body),
                {
                  error: 'invalid_request',
                  error_description: 'The request path is not validly percent-encoded UTF-8.',
                },
                where,
              );
            } else {
              assert.match(answer.type, /^application\/problem\+json/, where);
              assert.equal((JSON.parse(answer.body) as { title: string }).title, 'invalid_request', where);
            }
          }
        }
      }
    }
    assert.equal(seen.length, PATHS.length * HOSTILE.length * 2);
    assert.deepEqual(
      logs.filter((line) => line.level >= 50),
      [],
      'nothing logged as a failure',
    );
  });

  it("shows a person a page instead, under the pages' security headers", async () => {
    for (const path of ['/interaction/%ff', '/dev-idp/interaction/%c0%af/abort', '/oauth2/start/%zz']) {
      const page = await send(url, 'GET', path, 'text/html');
      assert.equal(page.status, 400, path);
      assert.match(page.type, /^text\/html/, path);
      assert.match(page.body, /not validly percent-encoded/, path);
      assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/, path);
      assert.equal(page.headers['x-content-type-options'], 'nosniff', path);
    }
  });
});

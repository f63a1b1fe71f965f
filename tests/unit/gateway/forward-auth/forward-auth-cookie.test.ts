import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FORWARD_AUTH_COOKIE, forwardAuthCookies } from '../../../../gateway/forward-auth/forward-auth-cookie.ts';

/** A token shaped like a JWS: the binding covers its signature, the last part. */
const token = (signature: string) => `eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.${signature.padEnd(86, 'x')}`;

/** The cookie value `set` writes for `hostname`. */
function issued(cookies: ReturnType<typeof forwardAuthCookies>, hostname: string, jwt: string): string {
  let value = '';
  const reply = { setCookie: (_name: string, v: string) => (value = v) } as unknown as FastifyReply;
  cookies.set({ hostname } as FastifyRequest, reply, { token: jwt, sessionId: 'session-1' });
  return value;
}

const presented = (hostname: string, value: string) =>
  ({ hostname, cookies: { [FORWARD_AUTH_COOKIE]: value } }) as unknown as FastifyRequest;

describe('the forward-auth cookie binding', () => {
  const cookies = forwardAuthCookies({
    secure: false,
    cookieDomains: ['.a.test', '.b.test'],
    maxAgeSeconds: 60,
    secrets: ['s'.repeat(32)],
  });

  it('reads a cookie where it was set, again and again (the second read from the checked bindings)', () => {
    const value = issued(cookies, 'app.a.test', token('sigA'));
    for (let i = 0; i < 3; i += 1)
      assert.deepEqual(cookies.read(presented('other.a.test', value)), {
        token: token('sigA'),
        sessionId: 'session-1',
      });
  });

  it('refuses a checked binding with another token, and the same cookie under another domain', () => {
    const value = issued(cookies, 'app.a.test', token('sigB'));
    assert.ok(cookies.read(presented('app.a.test', value)), 'checked once, so it is cached');
    const [, session, binding] = value.split('~');
    // The cached binding does not carry over to a token it was not computed over.
    assert.equal(cookies.read(presented('app.a.test', `${token('sigC')}~${session}~${binding}`)), undefined);
    // Lifted to another cookie domain, it is refused there.
    assert.equal(cookies.read(presented('app.b.test', value)), undefined);
    // A forged binding is refused, and refused again (nothing cached for it).
    const forged = `${token('sigB')}~${session}~${'A'.repeat(22)}`;
    assert.equal(cookies.read(presented('app.a.test', forged)), undefined);
    assert.equal(cookies.read(presented('app.a.test', forged)), undefined);
  });

  it('accepts a cookie bound with an older secret during a rotation', () => {
    const old = forwardAuthCookies({
      secure: false,
      cookieDomains: ['.a.test'],
      maxAgeSeconds: 60,
      secrets: ['o'.repeat(32)],
    });
    const rotated = forwardAuthCookies({
      secure: false,
      cookieDomains: ['.a.test'],
      maxAgeSeconds: 60,
      secrets: ['n'.repeat(32), 'o'.repeat(32)],
    });
    const value = issued(old, 'app.a.test', token('sigD'));
    assert.ok(rotated.read(presented('app.a.test', value)));
    const retired = forwardAuthCookies({
      secure: false,
      cookieDomains: ['.a.test'],
      maxAgeSeconds: 60,
      secrets: ['n'.repeat(32)],
    });
    assert.equal(retired.read(presented('app.a.test', value)), undefined);
  });
});

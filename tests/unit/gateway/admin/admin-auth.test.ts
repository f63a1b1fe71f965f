import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { adminAuth } from '../../../../gateway/admin/admin-auth.ts';

const ISSUER = 'https://auth.example.test';

/** A route behind the admin check, with a verifier that accepts the token "t" as `claims`. */
async function answerFor(claims: Record<string, unknown>, client: { scope?: string } | undefined) {
  const app = Fastify();
  app.get(
    '/admin/x',
    {
      preHandler: adminAuth({
        issuer: ISSUER,
        verify: async () => claims as never,
        findClient: async () => client,
      }),
    },
    async () => ({ ok: true }),
  );
  const response = await app.inject({ url: '/admin/x', headers: { authorization: 'Bearer t' } });
  await app.close();
  return { status: response.statusCode, challenge: String(response.headers['www-authenticate'] ?? '') };
}

describe('the admin check', () => {
  const machine = {
    sub: 'oncall-bot',
    client_id: 'oncall-bot',
    gty: 'client_credentials',
    aud: ISSUER,
    scope: 'gateway:admin',
  };

  it('admits a machine with the scope whose client still has it', async () => {
    assert.equal((await answerFor(machine, { scope: 'gateway:admin' })).status, 200);
  });

  it('ends a token at once when its client is removed, or loses the scope, though the JWT still verifies', async () => {
    const removed = await answerFor(machine, undefined);
    assert.equal(removed.status, 401);
    assert.match(removed.challenge, /error="invalid_token"/);
    assert.equal((await answerFor(machine, { scope: 'reports:read' })).status, 401);
  });

  it('refuses a user, another audience, and a machine without the scope', async () => {
    assert.equal((await answerFor({ ...machine, gty: undefined }, { scope: 'gateway:admin' })).status, 403);
    assert.equal(
      (await answerFor({ ...machine, aud: 'https://elsewhere.test' }, { scope: 'gateway:admin' })).status,
      401,
    );
    assert.equal((await answerFor({ ...machine, scope: 'reports:read' }, { scope: 'gateway:admin' })).status, 403);
  });
});

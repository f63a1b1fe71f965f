/**
 * The gateway's patches of oidc-provider's internals (gateway/provider/oidc-provider-patches.ts),
 * against a bare oidc-provider: each patched behaviour is the one the patch relies on, so an
 * upgrade that changes it fails here, by name, rather than somewhere in a sign-in.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Provider from 'oidc-provider';
import {
  acceptOtherSecrets,
  assertCheckedOidcProvider,
  CHECKED_RANGE,
  decideRedirectUris,
  installedOidcProviderVersion,
  reuseClientsOfKeptRecords,
  routeBackchannelLogout,
  withBody,
} from '../gateway/provider/oidc-provider-patches.ts';

const SECRET = 'the-current-secret-0123456789abcdef0123';

describe('oidc-provider patches', () => {
  let server: Server;
  let issuer = '';
  let provider: Provider;

  before(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    provider = new Provider(issuer, {
      clients: [{ client_id: 'app', client_secret: SECRET, redirect_uris: ['https://app.example/cb'] }],
      features: { devInteractions: { enabled: false }, introspection: { enabled: true } },
      ttl: { Interaction: 60 },
      renderError: (ctx, out) => {
        ctx.body = out;
      },
    });
    // Patch 3's user: a middleware that gives oidc-provider another body than the one sent.
    provider.use(async (ctx, next) => {
      if (ctx.path === '/token/introspection' && ctx.get('x-replace-body')) {
        for await (const _chunk of ctx.req) {
          /* read the original to its end */
        }
        const body = Buffer.from(ctx.get('x-replace-body'));
        ctx.req.headers['content-length'] = String(body.length);
        ctx.req = withBody(ctx.req, body);
      }
      await next();
    });
    server.on('request', provider.callback());
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const introspect = (authorization: string, body = 'token=x', extra: Record<string, string> = {}) =>
    fetch(`${issuer}/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization, ...extra },
      body,
    });
  const basic = (secret: string) => `Basic ${Buffer.from(`app:${secret}`).toString('base64')}`;

  it('runs on a version the patches were checked against, and refuses another major', () => {
    assert.doesNotThrow(() => assertCheckedOidcProvider());
    assert.equal(Number(installedOidcProviderVersion().split('.')[0]), CHECKED_RANGE.major);
    for (const version of ['10.0.0', '8.9.9', `${CHECKED_RANGE.major}.${CHECKED_RANGE.minMinor - 1}.9`]) {
      assert.throws(() => assertCheckedOidcProvider(version), /were checked against/, version);
    }
  });

  it('1. decides redirect URIs through Client.prototype.redirectUriAllowed, at the authorization endpoint', async () => {
    const authorize = (redirectUri: string) =>
      fetch(
        `${issuer}/auth?${new URLSearchParams({ client_id: 'app', redirect_uri: redirectUri, response_type: 'code', scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`,
        { redirect: 'manual' },
      );
    assert.equal(
      (await authorize('https://elsewhere.example/cb')).status,
      400,
      'unpatched: an unregistered URI is refused',
    );
    decideRedirectUris(provider, (clientId, uri) =>
      clientId === 'app' && uri === 'https://elsewhere.example/cb' ? true : undefined,
    );
    assert.notEqual((await authorize('https://elsewhere.example/cb')).status, 400, 'the patch accepts it');
    assert.notEqual(
      (await authorize('https://app.example/cb')).status,
      400,
      'undecided URIs keep the exact comparison',
    );
    assert.equal((await authorize('https://third.example/cb')).status, 400);
  });

  it('2. authenticates clients through Client.prototype.compareClientSecret, so another secret can be accepted', async () => {
    assert.equal((await introspect(basic('the-previous-secret-0123456789abcdef'))).status, 401, 'unpatched: refused');
    const asked: string[] = [];
    acceptOtherSecrets(provider, async (clientId, presented) => {
      asked.push(clientId);
      return presented === 'the-previous-secret-0123456789abcdef';
    });
    assert.equal((await introspect(basic('the-previous-secret-0123456789abcdef'))).status, 200);
    assert.equal((await introspect(basic('wrong-0123456789abcdef0123456789abc'))).status, 401);
    const before = asked.length;
    assert.equal((await introspect(basic(SECRET))).status, 200);
    assert.equal(asked.length, before, 'the current secret never reaches the fallback');
  });

  it('3. reads the request body through a view a middleware can replace', async () => {
    const replaced = await introspect('', 'token=ignored', {
      'x-replace-body': `token=x&client_id=app&client_secret=${SECRET}`,
    });
    assert.equal(replaced.status, 200, 'oidc-provider authenticated the client from the replaced body');
    assert.equal(((await replaced.json()) as { active: boolean }).active, false);
  });

  it('4. sends each logout token through Client.prototype.backchannelLogout, which a delivery can wrap', async () => {
    // An app's back-channel logout endpoint, and a provider with the feature on.
    const received: string[] = [];
    const app = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push(body);
        res.end();
      });
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    try {
      const logoutUri = `http://127.0.0.1:${(app.address() as AddressInfo).port}/logout`;
      const withLogout = new Provider(issuer, {
        clients: [
          {
            client_id: 'bl-app',
            client_secret: SECRET,
            redirect_uris: ['https://app.example/cb'],
            backchannel_logout_uri: logoutUri,
          },
        ],
        features: { devInteractions: { enabled: false }, backchannelLogout: { enabled: true } },
        // The app listens on loopback, which oidc-provider's own fetch refuses (as the gateway's does
        // unless GATEWAY_OUTBOUND_PRIVATE_HOSTS names it).
        fetch: (url: URL | string, { dispatcher: _guarded, ...init }: RequestInit & { dispatcher?: unknown }) =>
          fetch(url, init),
      } as never);
      const routed: Array<{ clientId: string; sid: string }> = [];
      routeBackchannelLogout(withLogout, async (send, clientId, sid) => {
        routed.push({ clientId, sid });
        await send();
      });
      const client = await withLogout.Client.find('bl-app');
      assert.ok(client);
      await (client as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> }).backchannelLogout(
        'user-1',
        'sid-1',
      );
      assert.deepEqual(routed, [{ clientId: 'bl-app', sid: 'sid-1' }], 'the delivery was asked');
      assert.equal(received.length, 1, "oidc-provider's own send delivered one token");
      assert.match(received[0] ?? '', /^logout_token=/);
    } finally {
      await new Promise<void>((resolve) => app.close(() => resolve()));
    }
  });

  it('5. finds dynamic clients through Client.find, so a Client built from a kept record can be reused', async () => {
    // A client kept as the gateway's cache keeps it: one frozen record object until it changes.
    const records = new Map<string, object>();
    let adapterReads = 0;
    const adapter = (name: string) => ({
      async find(id: string) {
        if (name !== 'Client') return undefined;
        adapterReads += 1;
        return records.get(id) as never;
      },
      async upsert() {},
      async findByUid() {
        return undefined;
      },
      async findByUserCode() {
        return undefined;
      },
      async consume() {},
      async destroy() {},
      async revokeByGrantId() {},
    });
    const dynamic = new Provider(issuer, { adapter, features: { devInteractions: { enabled: false } } } as never);
    const record = (uri: string) =>
      Object.freeze({ client_id: 'kept-app', client_secret: SECRET, redirect_uris: [uri] });
    records.set('kept-app', record('https://one.example/cb'));

    // Unpatched, oidc-provider reads the adapter on every find, and builds one Client per content.
    const first = await dynamic.Client.find('kept-app');
    assert.ok(first);
    assert.equal(await dynamic.Client.find('kept-app'), first, 'the same content finds the same Client');
    assert.equal(adapterReads, 2, 'the adapter was read by every find');

    reuseClientsOfKeptRecords(dynamic, (id) => records.get(id));
    const reads = adapterReads;
    const patched = await dynamic.Client.find('kept-app');
    assert.equal(patched, first, 'the Client built from this record');
    assert.equal(await dynamic.Client.find('kept-app'), first);
    assert.equal(adapterReads, reads + 1, 'only the first find of the kept record read the adapter');

    // A changed client is a new record object: built anew, with the new metadata.
    records.set('kept-app', record('https://two.example/cb'));
    const changed = await dynamic.Client.find('kept-app');
    assert.notEqual(changed, first);
    assert.deepEqual((changed as unknown as { redirectUris: string[] }).redirectUris, ['https://two.example/cb']);
    // Removed: nothing kept, nothing found.
    records.delete('kept-app');
    assert.equal(await dynamic.Client.find('kept-app'), undefined);
    assert.equal(await dynamic.Client.find(''), undefined);
  });
});

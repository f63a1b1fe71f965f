/**
 * oidc-provider's Adapter over the Store as a test suite, run once per backend: by
 * tests/oidc-adapter.test.ts on memory, SQLite and Redis, and by tests/redis-cluster.test.ts on a
 * real Redis Cluster. The races are the point: 50 parallel consumes of one code (exactly one
 * wins, the rest get invalid_grant) and 50 parallel token writes for one grant (revocation
 * removes all 50). And what a dump of the store would show: no id of any model but Client in a
 * key or set member, no payload in clear.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors, type Adapter, type AdapterPayload, type Configuration } from 'oidc-provider';
import {
  AlreadyConsumedError,
  createOidcAdapter,
  sealLegacyRecord,
  sessionsOfAccount,
  undoConsumption,
} from '../../adapters/oidc-adapter.ts';
import type { Store } from '../../adapters/store.ts';
import { createStoreSealing } from '../../gateway/keys/store-sealing.ts';
import type { Backend } from './store-contract-suite.ts';

const epochSeconds = () => Math.floor(Date.now() / 1000);

function tokenPayload(kind: string, extra: Partial<AdapterPayload> = {}): AdapterPayload {
  return {
    jti: randomUUID(),
    kind,
    clientId: 'app',
    accountId: 'user-1',
    iat: epochSeconds(),
    scope: 'openid',
    // empty arrays must come back as arrays (Redis 7.0's cjson would turn them into objects)
    amr: [],
    extra: { groups: [], nested: { list: [] } },
    ...extra,
  };
}

/** The Adapter semantics oidc-provider relies on; run once per backend. */
export function adapterSuite(backend: Backend): void {
  describe(`oidc Adapter on ${backend.name}`, () => {
    let store: Store | undefined;
    let adapterFor: (name: string) => Adapter;
    const sealing = createStoreSealing(randomBytes(32));
    const s = () => {
      assert.ok(store, `${backend.name} store did not open`);
      return store;
    };
    before(async () => {
      store = await backend.open();
      adapterFor = createOidcAdapter(store, sealing);
    });
    after(async () => {
      if (!store) return;
      await store.close();
      await backend.cleanup();
    });

    it('upsert then find returns the payload; expiresIn is in seconds', async () => {
      const tokens = adapterFor('AccessToken');
      const id = randomUUID();
      const payload = tokenPayload('AccessToken');
      await tokens.upsert(id, payload, 2);
      await sleep(150); // had the seconds been taken as milliseconds, it would be gone
      assert.deepEqual(await tokens.find(id), payload);
      assert.equal(await tokens.find(randomUUID()), undefined);
      assert.equal(await adapterFor('RefreshToken').find(id), undefined, 'models do not share ids');
    });

    it('find answers undefined once the record expired', async () => {
      const tokens = adapterFor('AccessToken');
      const id = randomUUID();
      await tokens.upsert(id, tokenPayload('AccessToken'), 0.1);
      assert.ok(await tokens.find(id));
      await sleep(250);
      assert.equal(await tokens.find(id), undefined);
    });

    it('upsert overwrites', async () => {
      const interactions = adapterFor('Interaction');
      const id = randomUUID();
      await interactions.upsert(id, { kind: 'Interaction', returnTo: '/a' }, 60);
      await interactions.upsert(id, { kind: 'Interaction', returnTo: '/b' }, 60);
      assert.equal((await interactions.find(id))?.returnTo, '/b');
    });

    it('findByUid finds a session by its uid; destroy removes the index', async () => {
      const sessions = adapterFor('Session');
      const id = randomUUID();
      const uid = randomUUID();
      const payload: AdapterPayload = {
        kind: 'Session',
        uid,
        accountId: 'user-1',
        loginTs: epochSeconds(),
        authorizations: {},
      };
      await sessions.upsert(id, payload, 60);
      assert.deepEqual(await sessions.findByUid(uid), payload);
      assert.equal(await sessions.findByUid(randomUUID()), undefined);
      await sessions.destroy(id);
      assert.equal(await sessions.findByUid(uid), undefined);
      assert.equal(await s().get(`oidc:sessionUid:${sealing.hashId(uid)}`), undefined);
    });

    it('findByUserCode finds a device code by its user code', async () => {
      const deviceCodes = adapterFor('DeviceCode');
      const id = randomUUID();
      const userCode = 'WDJB-MJHT';
      const payload = tokenPayload('DeviceCode', { userCode, grantId: randomUUID() });
      await deviceCodes.upsert(id, payload, 60);
      assert.deepEqual(await deviceCodes.findByUserCode(userCode), payload);
      assert.equal(await deviceCodes.findByUserCode('XXXX-XXXX'), undefined);
      await deviceCodes.destroy(id);
      assert.equal(await deviceCodes.findByUserCode(userCode), undefined);
    });

    it('consume: of 50 parallel consumes exactly one wins, the rest get invalid_grant', async () => {
      const codes = adapterFor('AuthorizationCode');
      const id = randomUUID();
      await codes.upsert(id, tokenPayload('AuthorizationCode', { grantId: randomUUID() }), 60);
      const before = epochSeconds();
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => codes.consume(id)));
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(won.length, 1);
      assert.equal(lost.length, 49);
      for (const { reason } of lost) {
        assert.ok(reason instanceof errors.InvalidGrant, `lost with ${String(reason)}`);
        assert.ok(reason instanceof AlreadyConsumedError);
        // what the token endpoint sends: 400 {"error":"invalid_grant"}, not a 500
        assert.equal(reason.status, 400);
        assert.equal(reason.error, 'invalid_grant');
        assert.equal(reason.expose, true);
      }
      const consumed = (await codes.find(id))?.consumed as number;
      assert.ok(Number.isInteger(consumed) && consumed >= before && consumed <= epochSeconds(), `consumed ${consumed}`);
      await assert.rejects(codes.consume(id), errors.InvalidGrant, 'a later replay loses too');
    });

    it('consume of an unknown or expired code is invalid_grant', async () => {
      const codes = adapterFor('AuthorizationCode');
      await assert.rejects(codes.consume(randomUUID()), errors.InvalidGrant);
      const id = randomUUID();
      await codes.upsert(id, tokenPayload('AuthorizationCode'), 0.05);
      await sleep(150);
      await assert.rejects(codes.consume(id), errors.InvalidGrant);
    });

    it('undoConsumption takes a consumption back: the token is found unconsumed and consumed once more', async () => {
      const refreshTokens = adapterFor('RefreshToken');
      const id = randomUUID();
      await refreshTokens.upsert(id, tokenPayload('RefreshToken', { grantId: randomUUID() }), 60);
      assert.equal(await undoConsumption(s(), sealing, 'RefreshToken', id), false, 'nothing to take back');
      await refreshTokens.consume(id);
      assert.equal(await undoConsumption(s(), sealing, 'RefreshToken', id), true);
      assert.equal((await refreshTokens.find(id))?.consumed, undefined);
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => refreshTokens.consume(id)));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one consume wins again');
      assert.ok((await refreshTokens.find(id))?.consumed);
    });

    it('destroy removes the record and its consumption', async () => {
      const refreshTokens = adapterFor('RefreshToken');
      const id = randomUUID();
      await refreshTokens.upsert(id, tokenPayload('RefreshToken', { grantId: randomUUID() }), 60);
      await refreshTokens.consume(id);
      await refreshTokens.destroy(id);
      assert.equal(await refreshTokens.find(id), undefined);
      assert.equal(await s().get(`oidc:consumed:RefreshToken:${sealing.hashId(id)}`), undefined);
      await refreshTokens.destroy(id); // destroying twice is fine
    });

    it('revokeByGrantId after 50 parallel upserts of one grant removes all 50, and only them', async () => {
      const grantId = randomUUID();
      const otherGrant = randomUUID();
      const written = Array.from({ length: 50 }, (_, i) => {
        const model = i % 3 === 0 ? 'RefreshToken' : i % 3 === 1 ? 'AccessToken' : 'AuthorizationCode';
        return { model, id: randomUUID() };
      });
      await Promise.all(
        written.map(({ model, id }) => adapterFor(model).upsert(id, tokenPayload(model, { grantId }), 60)),
      );
      const bystander = randomUUID();
      await adapterFor('AccessToken').upsert(bystander, tokenPayload('AccessToken', { grantId: otherGrant }), 60);
      assert.equal(
        (await s().setMembers(`oidc:grant:${sealing.hashId(grantId)}`)).length,
        50,
        'all 50 joined the grant',
      );

      await adapterFor('AccessToken').revokeByGrantId(grantId);

      const left = await Promise.all(written.map(({ model, id }) => adapterFor(model).find(id)));
      assert.deepEqual(left.filter(Boolean), [], 'every token of the grant is gone');
      assert.deepEqual(await s().setMembers(`oidc:grant:${sealing.hashId(grantId)}`), []);
      assert.ok(await adapterFor('AccessToken').find(bystander), 'another grant is untouched');
    });

    it('revokes a grant once when oidc-provider asks every model at the same time', async () => {
      let reads = 0;
      const counting: Store = {
        ...s(),
        setMembers: (key) => {
          reads += 1;
          return s().setMembers(key);
        },
      };
      const adapters = createOidcAdapter(counting, sealing);
      const grantId = randomUUID();
      const ids = await Promise.all(
        ['AccessToken', 'RefreshToken', 'AuthorizationCode'].map(async (model) => {
          const id = randomUUID();
          await adapters(model).upsert(id, tokenPayload(model, { grantId }), 60);
          return { model, id };
        }),
      );
      // What oidc-provider's revoke() does: one call per grant-bound model, all at once.
      const models = [
        'AccessToken',
        'RefreshToken',
        'AuthorizationCode',
        'DeviceCode',
        'BackchannelAuthenticationRequest',
        'PreAuthorizedCode',
      ];
      await Promise.all(models.map((model) => adapters(model).revokeByGrantId(grantId)));
      assert.equal(reads, 1, 'one pass over the grant');
      assert.deepEqual((await Promise.all(ids.map(({ model, id }) => adapters(model).find(id)))).filter(Boolean), []);
      // A revocation that starts later reads the set again (it may have grown).
      const late = randomUUID();
      await adapters('AccessToken').upsert(late, tokenPayload('AccessToken', { grantId }), 60);
      await adapters('RefreshToken').revokeByGrantId(grantId);
      assert.equal(reads, 2);
      assert.equal(await adapters('AccessToken').find(late), undefined);
    });

    it('keeps no id in a key or set member and no payload in clear; a client keeps its public id', async () => {
      const grantId = randomUUID();
      const token = randomUUID();
      const sessionId = randomUUID();
      const uid = randomUUID();
      await adapterFor('RefreshToken').upsert(token, tokenPayload('RefreshToken', { jti: token, grantId }), 60);
      await adapterFor('Session').upsert(
        sessionId,
        { kind: 'Session', jti: sessionId, uid, accountId: 'dumped', authorizations: {} },
        60,
      );
      await adapterFor('Client').upsert(
        'public-app',
        { client_id: 'public-app', client_secret: 'client-secret-0123456789abcdef' },
        undefined,
      );
      const keys = [
        `oidc:RefreshToken:${sealing.hashId(token)}`,
        `oidc:grant:${sealing.hashId(grantId)}`,
        `oidc:Session:${sealing.hashId(sessionId)}`,
        `oidc:sessionUid:${sealing.hashId(uid)}`,
        'oidc:account-sessions:dumped',
        'oidc:Client:public-app',
      ];
      const stored = await Promise.all(
        keys.map(async (key) => {
          const value =
            key.includes(':grant:') || key.includes(':account-sessions:')
              ? await s().setMembers(key)
              : await s().get(key);
          assert.ok(value !== undefined && JSON.stringify(value) !== '[]', `${key} is written`);
          return JSON.stringify(value);
        }),
      );
      for (const secret of [token, sessionId, uid, grantId, 'client-secret-0123456789abcdef']) {
        assert.ok(!stored.some((text) => text.includes(secret)), 'no id or secret in what is stored');
      }
      assert.equal(await s().get(`oidc:RefreshToken:${token}`), undefined, 'nothing under the id itself');
      assert.equal((await adapterFor('Client').find('public-app'))?.client_secret, 'client-secret-0123456789abcdef');
      assert.equal(
        await createOidcAdapter(s(), createStoreSealing(randomBytes(32)))('Client').find('public-app'),
        undefined,
        'another data key opens nothing',
      );
    });

    it("finds an account's sessions (users sign-out) and destroys them", async () => {
      const sessions = adapterFor('Session');
      const account = `account-${randomUUID()}`;
      const ids = [randomUUID(), randomUUID()];
      for (const id of ids)
        await sessions.upsert(id, { kind: 'Session', jti: id, uid: randomUUID(), accountId: account }, 60);
      const found = await sessionsOfAccount(s(), sealing, account);
      assert.deepEqual(found.map((session) => session.payload.jti).sort(), [...ids].sort());
      await Promise.all(found.map((session) => session.destroy()));
      assert.deepEqual(await sessionsOfAccount(s(), sealing, account), []);
      assert.equal(await sessions.find(ids[0] ?? ''), undefined);
    });

    it('reads a client record stored before sealing, and seals it in place', async () => {
      const payload = { client_id: 'legacy-app', client_secret: 'legacy-secret-0123456789abcdef' };
      await s().set('oidc:Client:legacy-app', { payload, expiresAt: null });
      assert.deepEqual(await adapterFor('Client').find('legacy-app'), payload);
      assert.equal(await sealLegacyRecord(s(), sealing, 'Client', 'legacy-app'), true);
      assert.ok(!JSON.stringify(await s().get('oidc:Client:legacy-app')).includes(payload.client_secret), 'sealed now');
      assert.deepEqual(await adapterFor('Client').find('legacy-app'), payload);
      assert.equal(await sealLegacyRecord(s(), sealing, 'Client', 'legacy-app'), false, 'nothing more to do');
    });

    it("is accepted as oidc-provider's adapter option", async () => {
      // Own keys and no dev interactions, only so that oidc-provider prints no quick-start warnings.
      const { privateKey } = await generateKeyPair('RS256', { extractable: true });
      const jwk = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig' };
      const provider = new Provider('http://127.0.0.1/', {
        adapter: createOidcAdapter(s(), sealing),
        jwks: { keys: [jwk as NonNullable<Configuration['jwks']>['keys'][number]] },
        features: { devInteractions: { enabled: false } },
      });
      assert.ok(provider);
    });
  });
}

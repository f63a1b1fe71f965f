/**
 * The gateway's signing keys, kept in the store so that every instance signs and verifies alike.
 *
 * ES256 signs access tokens (RFC 9068); RS256 stays for ID tokens, since OIDC Core makes RS256 the
 * default every relying party must support. Keys are generated on first start; `setIfAbsent` makes
 * two instances starting at once agree on one set (the loser reads the winner's keys).
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Store } from '../../adapters/store.ts';

const KEYS_KEY = 'keys:signing';

/** A private JWK with the fields oidc-provider needs. */
export type PrivateJwk = JWK & { kid: string; alg: string; use: 'sig' };

interface StoredKeys {
  keys: PrivateJwk[];
  createdAt: number;
}

async function generateSigningKey(alg: 'ES256' | 'RS256'): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg, use: 'sig' };
}

/** Loads the signing keys from the store, generating and storing them on first start. */
export async function loadSigningKeys(store: Store): Promise<PrivateJwk[]> {
  const existing = await store.get<StoredKeys>(KEYS_KEY);
  if (existing) return existing.keys;
  const fresh: StoredKeys = {
    keys: [await generateSigningKey('ES256'), await generateSigningKey('RS256')],
    createdAt: Date.now(),
  };
  if (await store.setIfAbsent(KEYS_KEY, fresh)) return fresh.keys;
  const winner = await store.get<StoredKeys>(KEYS_KEY);
  if (!winner) throw new Error('signing keys vanished from the store right after they were written');
  return winner.keys;
}

/** The public half of a private JWK (what the JWKS publishes). */
export function publicJwk(key: PrivateJwk): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = key;
  return pub;
}

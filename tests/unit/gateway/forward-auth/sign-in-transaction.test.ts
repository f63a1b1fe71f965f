import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  callbackState,
  parseTransaction,
  transactionCookieName,
} from '../../../../gateway/forward-auth/sign-in-transaction.ts';

describe('the forward-auth sign-in transaction cookie', () => {
  const state = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde';

  it('names one cookie per attempt from the first 12 characters of its state, __Secure- on https', () => {
    assert.equal(transactionCookieName(state, false), '_gateway_auth_tx_AbCdEfGhIjKl');
    assert.equal(transactionCookieName(state, true), '__Secure-_gateway_auth_tx_AbCdEfGhIjKl');
    assert.notEqual(transactionCookieName('x'.repeat(12), true), transactionCookieName(state, true));
  });

  it('takes a callback state only when it is base64url of at most 256 characters', () => {
    assert.equal(callbackState(state), state);
    assert.equal(callbackState('a'.repeat(256)), 'a'.repeat(256));
    for (const bad of [undefined, '', 'a'.repeat(257), 'a;b', 'a b', 'a=b', 'é', 'a\nb'])
      assert.equal(callbackState(bad), '', JSON.stringify(bad));
  });

  it('reads the transaction a verified cookie holds, and nothing from an absent or broken one', () => {
    const tx = { state, nonce: 'n', verifier: 'v', rd: '/', redirectUri: 'https://a.test/oauth2/callback' };
    assert.deepEqual(parseTransaction(JSON.stringify(tx)), tx);
    for (const none of [undefined, null, '', '{', 'null', 'not json']) assert.equal(parseTransaction(none), undefined);
  });
});

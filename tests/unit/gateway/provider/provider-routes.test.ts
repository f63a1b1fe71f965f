import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalProviderPath,
  canonicalProviderUrl,
  providerRouteLabel,
} from '../../../../gateway/provider/provider-routes.ts';

describe("the provider's paths", () => {
  it('spells a provider path the one way every rule sees it', () => {
    assert.equal(canonicalProviderPath('/Token/'), '/token');
    assert.equal(canonicalProviderPath('/TOKEN/INTROSPECTION'), '/token/introspection');
    assert.equal(canonicalProviderPath('/REG/SomeClientId'), '/reg/SomeClientId', 'an id keeps its case');
    assert.equal(canonicalProviderPath('/nothing'), undefined);
    // oidc-provider's own folding: a non-ASCII letter whose upper case is ASCII stays itself.
    assert.equal(canonicalProviderPath('/ſession/end'), undefined);
  });

  it('rewrites a URL with its query, and leaves the forward-auth paths alone', () => {
    assert.equal(canonicalProviderUrl('/Token?x=1'), '/token?x=1');
    // An absolute-form target (RFC 9112 §3.2.2) becomes the origin-form path the rules read.
    assert.equal(canonicalProviderUrl('http://127.0.0.1:4101/REG/abc'), '/reg/abc');
    assert.equal(canonicalProviderUrl('http://gw.example/TOKEN?x=1'), '/token?x=1');
    assert.equal(canonicalProviderUrl('https://gw.example/oauth2/auth?rd=%2F'), '/oauth2/auth?rd=%2F');
    assert.equal(canonicalProviderUrl('/oauth2/Auth'), '/oauth2/Auth');
  });

  it('labels a request by its endpoint, ids folded into a pattern', () => {
    assert.equal(providerRouteLabel('/token?grant_type=x'), '/token');
    assert.equal(providerRouteLabel('/auth/abc123'), '/auth/:uid');
    assert.equal(providerRouteLabel('/reg/client-1'), '/reg/:clientId');
    assert.equal(providerRouteLabel('/.well-known/openid-configuration'), '/.well-known/openid-configuration');
    assert.equal(providerRouteLabel('/secret-looking/abc'), '/*', 'an unknown path never becomes a label');
  });
});

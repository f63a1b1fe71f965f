/**
 * The gateway's one OpenID Provider, replaceable. oidc-provider fixes its signing keys at
 * construction, so a key change (keys/live-keys.ts) builds a new instance and swaps it in here;
 * everything else reaches the provider through `current()` and so always sees the live one.
 */
import type Provider from 'oidc-provider';
import type { NodeHandler } from './mount-provider.ts';

export interface LiveProvider {
  /** The provider in use now (throws before the first is built: a wiring mistake). */
  current(): Provider;
  /** Makes `next` the provider every later request uses. */
  replace(next: Provider): void;
  /** The Node handler for the current provider: its Koa callback, made once per instance. */
  readonly handler: NodeHandler;
}

export function createLiveProvider(): LiveProvider {
  let provider: Provider | undefined;
  const current = (): Provider => {
    if (!provider) throw new Error('the OpenID Provider is not built yet');
    return provider;
  };
  // `callback()` composes the whole Koa middleware stack: once per instance, not per request.
  const callbacks = new WeakMap<Provider, NodeHandler>();
  const handler: NodeHandler = (req, res) => {
    const instance = current();
    let callback = callbacks.get(instance);
    if (!callback) {
      callback = instance.callback() as NodeHandler;
      callbacks.set(instance, callback);
    }
    callback(req, res);
  };
  return {
    current,
    replace: (next) => {
      provider = next;
    },
    handler,
  };
}

/**
 * Every place the gateway reaches into oidc-provider beyond its documented API, in one file, each
 * checked against the versions in {@link CHECKED_RANGE}: the start refuses another major version
 * (assertCheckedOidcProvider), and tests/oidc-provider-patches.test.ts fails when the installed
 * version no longer behaves as these patches expect, so an upgrade fails loudly, never silently.
 *
 * 1. `Client.prototype.redirectUriAllowed`: the forward-auth client accepts `/oauth2/callback` on
 *    every configured host instead of a list (forward-auth-client.ts). oidc-provider checks every
 *    redirect URI through this one method (lib/models/client.js).
 * 2. `Client.prototype.compareClientSecret`: a client's previous secret keeps working during its
 *    rotation grace (clients/previous-secrets.ts). oidc-provider compares presented secrets in this
 *    one method (lib/shared/client_auth.js), for every endpoint that authenticates clients.
 * 3. The request a middleware in front of oidc-provider has already read (form-body.ts): its body
 *    parser reads `ctx.req` through `readable` and the async iterator, which a view serves again.
 * 4. `Client.prototype.backchannelLogout`: every logout token goes through the gateway's delivery
 *    (sessions/backchannel-delivery.ts: once per app session, retries, in the background).
 *    oidc-provider sends each one through this method (lib/models/client.js, called at
 *    `/session/end`), and the gateway's own sign-out calls it too.
 * 5. `Client.find` (static): the Client built from a kept client record is reused for as long as
 *    that record object is kept (clients/client-cache.ts). oidc-provider hashes the JSON of every
 *    record its adapter returns to find the Client it built from the same properties
 *    (lib/models/client.js), on every request that names a client.
 *
 * Each Provider instance has its own Client class, so a patch touches only the provider it is
 * applied to.
 */
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type Provider from 'oidc-provider';

/** The oidc-provider versions these patches were checked against: 9.13 and later 9.x. */
export const CHECKED_RANGE = { major: 9, minMinor: 13 } as const;

/** The installed oidc-provider's version. */
export function installedOidcProviderVersion(): string {
  const pkg = createRequire(import.meta.url)('oidc-provider/package.json') as { version: string };
  return pkg.version;
}

/** Throws, with what to do, when `version` is outside {@link CHECKED_RANGE}. */
export function assertCheckedOidcProvider(version: string = installedOidcProviderVersion()): void {
  const [major, minor] = version.split('.').map(Number);
  if (major === CHECKED_RANGE.major && (minor ?? 0) >= CHECKED_RANGE.minMinor) return;
  throw new Error(
    `oidc-provider ${version} is installed, but the gateway's patches of its internals were checked against ` +
      `${CHECKED_RANGE.major}.${CHECKED_RANGE.minMinor}–${CHECKED_RANGE.major}.x (gateway/provider/oidc-provider-patches.ts): ` +
      'install a checked version (npm ci), or check the patches and widen the range',
  );
}

interface PatchableClient {
  readonly clientId: string;
  redirectUriAllowed(value: string): boolean;
  compareClientSecret(actual: string): boolean | Promise<boolean>;
}

function clientPrototype(provider: Provider): PatchableClient {
  return provider.Client.prototype as unknown as PatchableClient;
}

/**
 * Patch 1: `decide(clientId, uri)` answers for the clients it knows (true or false) and leaves the
 * others to oidc-provider's own exact comparison (undefined).
 */
export function decideRedirectUris(
  provider: Provider,
  decide: (clientId: string, uri: string) => boolean | undefined,
): void {
  const prototype = clientPrototype(provider);
  const original = prototype.redirectUriAllowed;
  prototype.redirectUriAllowed = function redirectUriAllowed(this: PatchableClient, value: string) {
    return decide(this.clientId, value) ?? original.call(this, value);
  };
}

/**
 * Patch 2: when the current secret does not match, `fallback(clientId, presented)` may still
 * accept it. A request with the current secret costs nothing more.
 */
export function acceptOtherSecrets(
  provider: Provider,
  fallback: (clientId: string, presented: string) => Promise<boolean>,
): void {
  const prototype = clientPrototype(provider);
  const compareCurrent = prototype.compareClientSecret;
  prototype.compareClientSecret = async function compareClientSecret(
    this: PatchableClient,
    actual: string,
  ): Promise<boolean> {
    if (await compareCurrent.call(this, actual)) return true;
    return typeof actual === 'string' && actual !== '' && fallback(this.clientId, actual);
  };
}

/**
 * Patch 3: `request`, its body now reading as `body`, for oidc-provider's body parser (which
 * checks `readable` and `readableEncoding`, then reads `iterator()`). Own properties of the
 * request shadow the stream's, rather than a Proxy around it: a Proxy made every later property
 * read of the request (Koa reads many) go through a trap that bound each method anew.
 */
export function withBody(request: IncomingMessage, body: Buffer): IncomingMessage {
  Object.defineProperties(request, {
    readable: { value: true, configurable: true, writable: true },
    readableEncoding: { value: null, configurable: true, writable: true },
    iterator: {
      value: async function* replayBody() {
        yield body;
      },
      configurable: true,
      writable: true,
    },
  });
  return request;
}

/** How a logout token is sent: `send()` is oidc-provider's own delivery of it. */
export type BackchannelDelivery = (send: () => Promise<void>, clientId: string, sid: string) => Promise<void>;

/** Patch 4: every `Client#backchannelLogout` of `provider` goes through `deliver`. */
export function routeBackchannelLogout(provider: Provider, deliver: BackchannelDelivery): void {
  const prototype = provider.Client.prototype as unknown as {
    backchannelLogout(this: { clientId: string }, sub: string, sid: string): Promise<void>;
  };
  const send = prototype.backchannelLogout;
  prototype.backchannelLogout = function backchannelLogout(sub: string, sid: string) {
    return deliver(() => send.call(this, sub, sid), this.clientId, sid);
  };
}

/**
 * Patch 5: `kept(id)` is the client record the gateway keeps for `id` right now (the object the
 * adapter's `find` hands out, frozen), or undefined. The Client oidc-provider built from that
 * object is remembered by it, and a later find of `id` that meets the same object returns that
 * Client without reading the adapter, serialising the record and hashing it. A client changed,
 * removed or expired from the cache has another object (or none), which oidc-provider builds
 * (and checks) anew.
 */
export function reuseClientsOfKeptRecords(provider: Provider, kept: (id: string) => object | undefined): void {
  const Client = provider.Client as unknown as { find(this: unknown, id: unknown): Promise<unknown> };
  const find = Client.find;
  const built = new WeakMap<object, unknown>();
  Client.find = async function findClient(this: unknown, id: unknown): Promise<unknown> {
    const record = typeof id === 'string' ? kept(id) : undefined;
    const known = record === undefined ? undefined : built.get(record);
    if (known !== undefined) return known;
    const client = await find.call(this, id);
    // Built from `record` only if that object was kept all along: any change replaces the object.
    if (client && record !== undefined && kept(id as string) === record) built.set(record, client);
    return client;
  };
}

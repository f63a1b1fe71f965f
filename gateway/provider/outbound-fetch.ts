/**
 * The `fetch` oidc-provider uses for every call the gateway makes on a client's behalf: a
 * client's `jwks_uri`, its `sector_identifier_uri`, back-channel logout. Each such URL was chosen
 * by whoever registered the client, so each call is a server-side request forgery waiting to
 * happen (OWASP SSRF Prevention Cheat Sheet) unless:
 *
 * - it cannot reach loopback, private, link-local or reserved addresses: a literal one is refused
 *   before anything happens, and a name is resolved by a lookup that refuses it when any of its
 *   addresses is such, BEFORE a connection is opened (oidc-provider's own guard destroys the
 *   connection only once it is open, after a TLS client hello was sent: a port scan by timing,
 *   and a first packet to whatever listens). Only the `host:port` services the operator listed in
 *   GATEWAY_OUTBOUND_PRIVATE_HOSTS are called without it;
 * - it never follows a redirect, allow-listed or not: the dispatcher checks only where a
 *   connection goes, and an allowed host answering `302 Location: http://127.0.0.1:6379/` (or
 *   any internal URL) would otherwise take the gateway there. A 3xx answer is a failure
 *   (RFC 9110 §15.4 leaves following redirects to the client's choice).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { outboundHostOf } from '../../config/outbound-host.ts';
import { privateHostKind } from '../clients/private-host-kind.ts';

type FetchOptions = RequestInit;
type Dispatcher = NonNullable<RequestInit['dispatcher']>;

/** Thrown for a redirect answer, which is never followed. */
export class OutboundRedirectError extends Error {
  readonly status: number;
  constructor(url: URL, status: number) {
    super(
      `${url.origin}${url.pathname} answered ${status} (a redirect); the gateway does not follow redirects on outbound calls`,
    );
    this.name = 'OutboundRedirectError';
    this.status = status;
  }
}

/** Thrown for a host that is, or resolves to, an address the gateway does not call. */
export class OutboundAddressError extends Error {
  readonly code = 'ERR_GATEWAY_SSRF';
  constructor(host: string, kind: string, address?: string) {
    super(
      `${host}${address && address !== host ? ` resolves to ${address}, ` : ' is '}a ${kind} address, which the gateway does not call (SSRF protection); an operator may allow a host:port in GATEWAY_OUTBOUND_PRIVATE_HOSTS`,
    );
    this.name = 'OutboundAddressError';
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A DNS lookup for `net.connect` that fails when any address of the name is not public. */
function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    for (const { address } of addresses) {
      const kind = privateHostKind(address);
      if (kind !== undefined)
        return callback(new OutboundAddressError(hostname, kind, address) as NodeJS.ErrnoException, []);
    }
    if (options.all) return callback(null, addresses);
    const [first] = addresses;
    return first
      ? callback(null, first.address, first.family)
      : callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
  });
}

/**
 * A dispatcher for Node's own `fetch` whose connections resolve names through
 * {@link guardedLookup}. Node's fetch runs on its bundled undici, whose Agent class is reached
 * through the global dispatcher undici shares under a registered symbol (as oidc-provider does).
 */
function guardedDispatcher(): Dispatcher {
  void Response; // Node loads its undici, and sets the global dispatcher, on first use.
  const global = (globalThis as Record<symbol, { constructor: new (options: object) => unknown } | undefined>)[
    Symbol.for('undici.globalDispatcher.1')
  ];
  if (!global) throw new Error("Node's fetch has no global dispatcher: cannot guard outbound calls");
  return new global.constructor({ connect: { lookup: guardedLookup } }) as Dispatcher;
}

/** oidc-provider's `fetch` option, with `privateHosts` (`host:port`) allowed past the SSRF guard. */
export function outboundFetch(privateHosts: readonly string[]) {
  const allowed = new Set(privateHosts);
  let guarded: Dispatcher | undefined;
  return async (input: URL | string | Request, options: FetchOptions = {}): Promise<Response> => {
    const target = new URL(input instanceof Request ? input.url : input);
    const { dispatcher: _providers, ...rest } = options;
    const init: FetchOptions = { ...rest, redirect: 'manual' };
    if (!allowed.has(outboundHostOf(target))) {
      // A literal address never goes through a lookup: judged here.
      const kind = privateHostKind(target.hostname);
      if (kind !== undefined) throw new OutboundAddressError(target.hostname, kind);
      guarded ??= guardedDispatcher();
      init.dispatcher = guarded;
    }
    const response = await fetch(input, init as RequestInit);
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      throw new OutboundRedirectError(target, response.status);
    }
    return response;
  };
}

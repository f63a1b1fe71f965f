/**
 * The forward-auth check's answers, replayed: nginx asks `/oauth2/auth` on every request a
 * signed-in browser makes, with the same cookie, host and query each time, and the answer is the
 * same 202 until the cookie's token expires or its session is signed out. check-route.ts decides
 * every first answer (and every answer that is not a 202); this file remembers the 202s and
 * answers a repeat straight from Node's `request` event, before Fastify's routing, hooks and
 * reply machinery, which were half of the hot path's CPU (docs/PERFORMANCE.md).
 *
 * A repeat is the same request byte for byte in everything the decision reads: the method (GET),
 * the URL (path and query), the Host header, X-Forwarded-Host when (and only when) the peer is a
 * trusted proxy, as Fastify reads it, the Authorization header and the whole Cookie header; and,
 * when access rules read the protected request's path or method, the headers that say them. Before
 * replaying, what can change in between is checked again: the token's expiry (a 202 is kept no
 * longer than its token lives) and the session's sign-out (revoked-sessions, local). A 202 that
 * refreshed the cookie (it carries Set-Cookie) is never kept. Anything else falls through to the
 * route, which decides as it always does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import { BoundedCache } from '../web/bounded-cache.ts';

export interface CheckReplayDeps {
  /** The trusted proxies (GATEWAY_TRUSTED_PROXIES), as Fastify's `trustProxy` is given them. */
  trustedProxies: readonly string[];
  /** Rules read the protected request's path and method: the key holds them too. */
  readsTarget?: boolean;
  /** Is this SSO session (its uid) signed out? Local, no store round trip. */
  isRevoked: (sid: string | undefined) => boolean;
  /** Counts one answer of the check (replayed answers are counted like any other). */
  recordCheck?: ((route: string, status: number, ms: number) => void) | undefined;
}

export interface CheckReplay {
  /** Keeps a 202 the route decided, for repeats of `request` until `expiresAtMs`. */
  remember(
    request: IncomingMessage,
    headers: Readonly<Record<string, string>>,
    expiresAtMs: number,
    sid: string | undefined,
  ): void;
  /** Answers `req` when it repeats a kept 202 that still holds; false when the route must decide. */
  answer(req: IncomingMessage, res: ServerResponse): boolean;
}

interface Kept {
  /** The answer's headers as writeHead takes them flat (`[name, value, name, value, …]`): no object per replay. */
  headers: string[];
  sid: string | undefined;
}

/** The path this replays, as check-route.ts serves it. */
export const CHECK_PATH = '/oauth2/auth';

/**
 * Entries are about 2.5 KB (the cookie header and the minted token): 4,000 signed-in browsers
 * checked in a row stay replayed in 10 MB. Only decided 202s enter, so an outsider cannot fill
 * it; a signed-in user varying other cookies can only push entries out (theirs and others'
 * checks then go the whole way, as before), and no entry is larger than MAX_KEY + the answer.
 */
const MAX_KEPT = 4_000;
/** Requests whose key is longer (a browser with many cookies) are decided every time. */
const MAX_KEY = 4_096;

export function createCheckReplay(deps: CheckReplayDeps): CheckReplay {
  const compiled = proxyaddr.compile([...deps.trustedProxies]);
  // Requests come from a few peers (the proxies): each address is parsed and judged once.
  const trustedPeers = new BoundedCache<boolean>(1_000);
  const trust = (peer: string) => {
    let trusted = trustedPeers.get(peer);
    if (trusted === undefined) {
      trusted = compiled(peer, 0);
      trustedPeers.set(peer, trusted, Number.MAX_SAFE_INTEGER);
    }
    return trusted;
  };
  const kept = new BoundedCache<Kept>(MAX_KEPT);

  /** What the decision reads, or undefined for a request the route must see anyway. */
  function keyOf(req: IncomingMessage): string | undefined {
    const url = req.url;
    if (req.method !== 'GET' || url === undefined || !url.startsWith(CHECK_PATH)) return undefined;
    if (url.length !== CHECK_PATH.length && url.charCodeAt(CHECK_PATH.length) !== 63 /* ? */) return undefined;
    const { headers } = req;
    // A request with a body is the route's (nginx's auth_request sends none).
    if (headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined) return undefined;
    const peer = req.socket.remoteAddress;
    const trusted = peer !== undefined && trust(peer);
    const forwardedHost = trusted ? (headers['x-forwarded-host'] ?? '') : '';
    // With path or method rules, the protected request's URI and method decide too.
    const target =
      deps.readsTarget && trusted
        ? `\n${headers['x-original-uri'] ?? ''}\n${headers['x-forwarded-uri'] ?? ''}\n${headers['x-original-url'] ?? ''}\n${headers['x-original-method'] ?? ''}\n${headers['x-forwarded-method'] ?? ''}`
        : '';
    return `${url}\n${headers.host ?? ''}\n${forwardedHost}\n${headers.authorization ?? ''}\n${headers.cookie ?? ''}${target}`;
  }

  return {
    remember(request, headers, expiresAtMs, sid) {
      const key = keyOf(request);
      if (key === undefined || key.length > MAX_KEY || expiresAtMs <= Date.now()) return;
      const flat = Object.entries(headers).flat();
      flat.push('content-length', '0');
      kept.set(key, { headers: flat, sid }, expiresAtMs);
    },
    answer(req, res) {
      // Every request of the gateway passes here: nothing is done for one that is not a check.
      const key = keyOf(req);
      if (key === undefined) return false;
      const hit = kept.get(key);
      if (!hit) return false;
      if (deps.isRevoked(hit.sid)) {
        kept.delete(key);
        return false;
      }
      const started = performance.now();
      try {
        res.writeHead(202, hit.headers);
      } catch {
        // A header Node will not write (the route never keeps one, but a crash here would take
        // the process down): forgotten, and the route answers.
        kept.delete(key);
        return false;
      }
      res.end();
      deps.recordCheck?.(CHECK_PATH, 202, performance.now() - started);
      return true;
    },
  };
}

/**
 * Refresh races (RFC 9700 §4.14.2 wants rotation; real clients race). SPAs with several tabs and
 * flaky mobile networks send one refresh token twice; oidc-provider then sees a consumed token
 * and revokes the whole grant, signing the user out at random.
 *
 * This middleware, in front of oidc-provider's token endpoint, serialises refreshes of one token
 * under a store lock and remembers the answer (encrypted) for `GATEWAY_REFRESH_GRACE` seconds:
 * a repeat within the grace, with the same client credentials, gets the same new token pair, on
 * every instance. The lock and the answer are named by a keyed hash of the token and the
 * credentials (the store's sealing), never by the token itself. After the grace the cached
 * answer is gone, oidc-provider sees the consumed token and revokes the grant, and this
 * middleware reports the reuse (a security event) so the whole SSO session is ended too
 * (forward-auth cookies included).
 */
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type Provider from 'oidc-provider';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import { withLock } from '../../adapters/with-lock.ts';

/** oidc-provider's own limit for request bodies. */
const BODY_LIMIT = 56 * 1024;

interface KoaContext {
  method: string;
  path: string;
  req: IncomingMessage;
  status: number;
  body: unknown;
  is(type: string): string | false | null;
  get(name: string): string;
  set(name: string, value: string): void;
}

export interface RefreshGraceDeps {
  provider: Provider;
  store: Store;
  sealing: Sealing;
  graceMs: number;
  /** A consumed refresh token came back after the grace: end its SSO session. */
  onReuse: (details: { clientId: string; sub: string | undefined; grantId: string | undefined; sessionUid: string | undefined }) => Promise<void>;
}

async function readLimited(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw new Error('request entity too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Lets oidc-provider read the body again, as if it were still unread. */
function replayBody(ctx: KoaContext, raw: Buffer): void {
  const original = ctx.req;
  const replay = Readable.from([raw]);
  ctx.req = new Proxy(original, {
    get(target, property) {
      if (property === 'readable') return true;
      if (property === 'readableEncoding') return null;
      if (property === 'iterator') return (options?: { destroyOnReturn?: boolean }) => replay.iterator(options);
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** What the caller authenticated with: a cached answer is only for the same credentials. */
function credentials(ctx: KoaContext, params: URLSearchParams): string {
  return [ctx.get('authorization'), params.get('client_id'), params.get('client_secret'), params.get('client_assertion')].map((v) => v ?? '').join('\u0000');
}

export function refreshGraceMiddleware(deps: RefreshGraceDeps) {
  return async function refreshGrace(ctx: KoaContext, next: () => Promise<void>): Promise<void> {
    if (ctx.method !== 'POST' || ctx.path !== '/token' || !ctx.is('application/x-www-form-urlencoded')) {
      return next();
    }
    let raw: Buffer;
    try {
      raw = await readLimited(ctx.req);
    } catch {
      ctx.status = 413;
      ctx.body = { error: 'invalid_request', error_description: 'the request body is too large' };
      return undefined;
    }
    replayBody(ctx, raw);
    const params = new URLSearchParams(raw.toString('utf8'));
    const token = params.get('refresh_token');
    if (params.get('grant_type') !== 'refresh_token' || !token) return next();

    /** A consumed token presented again, past any grace: report it, then let oidc-provider refuse it and revoke the grant. */
    const reportReuse = async (): Promise<boolean> => {
      const existing = await deps.provider.RefreshToken.find(token, { ignoreExpiration: true }).catch(() => undefined);
      if (!existing?.consumed) return false;
      await deps.onReuse({
        clientId: existing.clientId ?? '',
        sub: existing.accountId,
        grantId: existing.grantId,
        sessionUid: existing.sessionUid,
      });
      return true;
    };
    if (deps.graceMs <= 0) {
      await reportReuse();
      return next();
    }

    const key = deps.sealing.hashId(`${token}\u0000${credentials(ctx, params)}`);
    return withLock(deps.store, `lock:refresh:${key}`, async () => {
      const cached = await deps.store.get<string>(`refresh-grace:${key}`);
      const answer = cached === undefined ? undefined : deps.sealing.open<object>(cached);
      if (answer) {
        ctx.status = 200;
        ctx.set('cache-control', 'no-store');
        ctx.set('pragma', 'no-cache');
        ctx.body = answer;
        return;
      }
      if (await reportReuse()) return next(); // oidc-provider revokes the grant and answers invalid_grant
      await next();
      if (ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
        await deps.store.set(`refresh-grace:${key}`, deps.sealing.seal(ctx.body), deps.graceMs);
      }
    }, { waitMs: 10_000 });
  };
}

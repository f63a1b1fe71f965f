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
import type Provider from 'oidc-provider';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import { withLock } from '../../adapters/with-lock.ts';
import { formParamsOrAnswer, type FormContext } from './form-body.ts';
import { PROVIDER_ROUTES } from './provider-routes.ts';

interface KoaContext extends FormContext {
  method: string;
  path: string;
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

/** What the caller authenticated with: a cached answer is only for the same credentials. */
function credentials(ctx: KoaContext, params: URLSearchParams): string {
  return [ctx.get('authorization'), params.get('client_id'), params.get('client_secret'), params.get('client_assertion')].map((v) => v ?? '').join('\u0000');
}

export function refreshGraceMiddleware(deps: RefreshGraceDeps) {
  return async function refreshGrace(ctx: KoaContext, next: () => Promise<void>): Promise<void> {
    if (ctx.method !== 'POST' || ctx.path !== PROVIDER_ROUTES.token) return next();
    const params = await formParamsOrAnswer(ctx);
    if (params === null) return undefined;
    if (!params) return next();
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

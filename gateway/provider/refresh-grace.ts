/**
 * Refresh races and crashes (RFC 9700 §4.14.2 wants rotation; real clients race, and instances
 * die). SPAs with several tabs and flaky mobile networks send one refresh token twice, and a
 * client retries a refresh whose answer was lost; oidc-provider then sees a consumed token and
 * revokes the whole grant, signing the user out at random.
 *
 * This middleware, in front of oidc-provider's token endpoint, serialises refreshes of one token
 * under a store lock and remembers the answer (encrypted) for `GATEWAY_REFRESH_GRACE` seconds:
 * a repeat within the grace, with the same client credentials, gets the same new token pair, on
 * every instance. The lock, the answer and the in-flight marker below are named by keyed hashes
 * of the token (and of the credentials, for the answer), never by the token itself. After the
 * grace the cached answer is gone, oidc-provider sees the consumed token and revokes the grant,
 * and this middleware reports the reuse (a security event) so the whole SSO session is ended too
 * (forward-auth cookies included).
 *
 * An instance that dies mid-refresh (SIGKILL, OOM, a lost node) may have consumed the token and
 * written its successor, but not stored the answer: Koa sends the answer only after this
 * middleware returns, so nothing left the instance. The retry must not look like a replay. So an
 * in-flight marker for the token is written BEFORE oidc-provider is called and removed only AFTER
 * the answer is stored (answer first, marker second). A request that finds the token consumed, no
 * answer and the marker still there knows the attempt died before answering: it takes the
 * consumption back (the adapter's `undoConsumption`) and lets oidc-provider rotate again. The
 * successor the dead attempt may have written was never delivered, so nobody can present it; it
 * stays in its grant's set until it expires or the grant is revoked. The marker lives as long as
 * the grace from before the answer is written, so it expires before the answer does: a token whose
 * answer was delivered never looks in flight once the grace is over, and its replay then is reuse.
 * The lock is a lease (adapters/with-lock.ts), so a dead holder delays the retry by at most 3 s,
 * inside the default grace of 5 s (a grace under 3 s may expire the marker before the retry gets
 * the lock: that retry is then taken for reuse). It is one lock per token, whatever the
 * credentials, so the marker has one writer at a time. An error after the consumption (a store
 * outage) leaves the marker too: it delivered no token either, so the client's retry rotates again.
 *
 * A holder that only stalls past its lease (a frozen process) is not dead: it and the request that
 * took over both finish. The answer is stored only if none is (set-if-absent), and a holder that
 * finds one already stored sends that one, so one successor is delivered, not two.
 *
 * A refresh that did not rotate (the forward-auth client's: create-provider.ts) has nothing to
 * protect, and its answer is not kept: replaying it would hand out an access token that may have
 * expired since.
 */
import type Provider from 'oidc-provider';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import { consumptionKey, undoConsumption } from '../../adapters/oidc-adapter.ts';
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
  onReuse: (details: RefreshDetails) => Promise<void>;
  /** A refresh cut off by a dead instance was retried, and its token rotated again. */
  onResume: (details: RefreshDetails) => void;
}

/** Who a refresh token belongs to, for logs and for ending its session: never the token. */
export interface RefreshDetails {
  clientId: string;
  sub: string | undefined;
  grantId: string | undefined;
  sessionUid: string | undefined;
}

function detailsOf(token: InstanceType<Provider['RefreshToken']>): RefreshDetails {
  return { clientId: token.clientId ?? '', sub: token.accountId, grantId: token.grantId, sessionUid: token.sessionUid };
}

/** What the caller authenticated with: a cached answer is only for the same credentials. */
function credentials(ctx: KoaContext, params: URLSearchParams): string {
  return [
    ctx.get('authorization'),
    params.get('client_id'),
    params.get('client_secret'),
    params.get('client_assertion'),
  ]
    .map((v) => v ?? '')
    .join('\u0000');
}

export function refreshGraceMiddleware(deps: RefreshGraceDeps) {
  return async function refreshGrace(ctx: KoaContext, next: () => Promise<void>): Promise<void> {
    if (ctx.method !== 'POST' || ctx.path !== PROVIDER_ROUTES.token) return next();
    const params = await formParamsOrAnswer(ctx);
    if (params === null) return undefined;
    if (!params) return next();
    const token = params.get('refresh_token');
    if (params.get('grant_type') !== 'refresh_token' || !token) return next();

    const find = () => deps.provider.RefreshToken.find(token, { ignoreExpiration: true }).catch(() => undefined);
    if (deps.graceMs <= 0) {
      // A consumed token presented again: report it, then let oidc-provider refuse it and revoke the grant.
      const found = await find();
      if (found?.consumed) await deps.onReuse(detailsOf(found));
      return next();
    }

    const tokenKey = deps.sealing.hashId(token);
    const answerKey = `refresh-grace:${deps.sealing.hashId(`${token}\u0000${credentials(ctx, params)}`)}`;
    const inFlightKey = `refresh-in-flight:${tokenKey}`;
    return withLock(
      deps.store,
      `lock:refresh:${tokenKey}`,
      async () => {
        // The kept answer and the token's consumption marker in one round trip: a token that is
        // not consumed (every refresh but a retry or a replay) needs nothing more read here.
        const [sealed, consumed] = await deps.store.getMany([
          answerKey,
          consumptionKey(deps.sealing, 'RefreshToken', token),
        ]);
        const answer = typeof sealed === 'string' ? deps.sealing.open<object>(sealed) : undefined;
        if (answer) {
          ctx.status = 200;
          ctx.set('cache-control', 'no-store');
          ctx.set('pragma', 'no-cache');
          ctx.body = answer;
          return;
        }
        const found = consumed === undefined ? undefined : await find();
        if (found?.consumed) {
          if ((await deps.store.get(inFlightKey)) === undefined) {
            // Rotated, its answer delivered, and no answer kept (past the grace, or other credentials):
            // reuse. Report it; oidc-provider revokes the grant and answers invalid_grant.
            await deps.onReuse(detailsOf(found));
            return next();
          }
          // Consumed by an attempt that never stored its answer: it died with its instance.
          await undoConsumption(deps.store, deps.sealing, 'RefreshToken', token);
          deps.onResume(detailsOf(found));
        }
        await deps.store.set(inFlightKey, true, deps.graceMs);
        await next();
        const body = ctx.body as { refresh_token?: unknown } | undefined;
        if (ctx.status !== 200 || !body || typeof body !== 'object') return;
        if (body.refresh_token !== token) {
          const stored = await deps.store.setIfAbsent(answerKey, deps.sealing.seal(body), deps.graceMs);
          const first = stored ? undefined : await storedAnswer(deps, answerKey);
          if (first) ctx.body = first;
        }
        // An answer is kept (or none was needed): whoever wrote the marker, it no longer holds.
        await deps.store.delete(inFlightKey);
      },
      { waitMs: 10_000 },
    );
  };
}

/** The answer kept for `key` within the grace, opened; undefined when none (or it does not open). */
async function storedAnswer(deps: RefreshGraceDeps, key: string): Promise<object | undefined> {
  const sealed = await deps.store.get<string>(key);
  return sealed === undefined ? undefined : deps.sealing.open<object>(sealed);
}

/**
 * The user's upstream tokens: kept per account, encrypted at rest, and refreshed on demand.
 *
 * A refresh runs under a per-user lock, so two parallel app refreshes never both hit Google
 * (Google rate-limits refreshes, and some IdPs rotate refresh tokens, where a double refresh
 * would lose one). Whoever waits for the lock re-reads the tokens and uses the fresh ones.
 * An upstream `invalid_grant` (revoked, expired) ends the link: the tokens are deleted, the app's
 * refresh fails with invalid_grant, and the next sign-in goes through the upstream again.
 */
import * as client from 'openid-client';
import type { Store } from '../../adapters/store.ts';
import { withLock } from '../../adapters/with-lock.ts';
import type { SecretBox } from '../keys/secret-box.ts';
import type { UpstreamClient, UpstreamTokens } from './upstream-client.ts';

/** The user's upstream grant is gone (revoked, expired, or never given). */
export class UpstreamLinkGoneError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'UpstreamLinkGoneError';
  }
}

/** Treat a token as expired this long before the upstream says, to absorb clock skew and latency. */
const EXPIRY_MARGIN_MS = 30_000;

export interface UpstreamTokenVault {
  load(sub: string): Promise<UpstreamTokens | undefined>;
  save(sub: string, tokens: UpstreamTokens): Promise<void>;
  remove(sub: string): Promise<void>;
  /** Calls the upstream userinfo with the user's token, refreshing once on expiry or 401. */
  userinfo(sub: string, upstreamSub: string): Promise<Record<string, unknown>>;
  /** Refreshes unless someone else already replaced `stale`; returns the current tokens. */
  refresh(sub: string, stale: UpstreamTokens): Promise<UpstreamTokens>;
}

function isUnauthorized(error: unknown): boolean {
  return error instanceof client.WWWAuthenticateChallengeError && error.status === 401;
}

function isInvalidGrant(error: unknown): boolean {
  return error instanceof client.ResponseBodyError && error.error === 'invalid_grant';
}

export function createUpstreamTokenVault(
  store: Store,
  box: SecretBox,
  upstream: UpstreamClient,
  ttlMs: number,
  onRefresh: () => void = () => {},
): UpstreamTokenVault {
  const key = (sub: string) => `upstream-tokens:${sub}`;

  const vault: UpstreamTokenVault = {
    async load(sub) {
      const sealed = await store.get<string>(key(sub));
      return sealed === undefined ? undefined : box.open<UpstreamTokens>(sealed);
    },
    async save(sub, tokens) {
      await store.set(key(sub), box.seal(tokens), ttlMs);
    },
    async remove(sub) {
      await store.delete(key(sub));
    },
    async refresh(sub, stale) {
      return withLock(store, `lock:upstream-refresh:${sub}`, async () => {
        const current = await vault.load(sub);
        if (!current) throw new UpstreamLinkGoneError('no upstream tokens are stored for this account');
        if (current.access_token !== stale.access_token) return current;
        if (!current.refresh_token) throw new UpstreamLinkGoneError('the upstream gave no refresh token');
        try {
          onRefresh();
          const fresh = await upstream.refresh(current.refresh_token);
          await vault.save(sub, fresh);
          return fresh;
        } catch (error) {
          if (isInvalidGrant(error)) {
            await vault.remove(sub);
            throw new UpstreamLinkGoneError('the upstream refused the refresh token (invalid_grant)');
          }
          throw error;
        }
      });
    },
    async userinfo(sub, upstreamSub) {
      let tokens = await vault.load(sub);
      if (!tokens) throw new UpstreamLinkGoneError('no upstream tokens are stored for this account');
      if (tokens.expires_at !== undefined && tokens.expires_at - EXPIRY_MARGIN_MS < Date.now()) {
        tokens = await vault.refresh(sub, tokens);
      }
      try {
        return await upstream.userinfo(tokens.access_token, upstreamSub);
      } catch (error) {
        if (!isUnauthorized(error)) throw error;
        // The upstream says the token is no longer good (revoked, or expired early): refresh, retry once.
        tokens = await vault.refresh(sub, tokens);
        return upstream.userinfo(tokens.access_token, upstreamSub);
      }
    },
  };
  return vault;
}

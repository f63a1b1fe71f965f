/**
 * The user's upstream tokens: kept per (upstream, account), encrypted at rest, and refreshed on
 * demand. An account linked to several upstreams (`gateway users link`) has tokens at each, kept
 * apart: a sign-in through one never overwrites another's, and token exchange names which.
 *
 * A refresh runs under a per-user lock, so two parallel app refreshes never both hit Google
 * (Google rate-limits refreshes, and some IdPs rotate refresh tokens, where a double refresh
 * would lose one). Whoever waits for the lock re-reads the tokens and uses the fresh ones.
 * An upstream `invalid_grant` (revoked, expired) ends the link: the tokens are deleted, the app's
 * refresh fails with invalid_grant, and the next sign-in goes through the upstream again.
 *
 * The same refresh-once-on-401 serves the sign-in itself (`userinfoAtSignIn`), before the account
 * is known: some upstreams refuse the access token of the code grant at userinfo (401
 * `invalid_token`) while its refresh token works. There the tokens live in the sign-in, not in
 * the store, and the lock is the sign-in attempt's, so each such sign-in makes one refresh grant.
 */
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import type { Store } from '../../adapters/store.ts';
import { withLock } from '../../adapters/with-lock.ts';
import type { SecretBox } from '../keys/secret-box.ts';
import {
  type UpstreamClient,
  UpstreamInvalidGrantError,
  type UpstreamTokens,
  UpstreamUnauthorizedError,
} from './upstream-client.ts';

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
  /**
   * Calls the upstream userinfo with the user's token, refreshing once on expiry or 401, and
   * checks it is the identity the tokens were given for (`upstreamSub` for tokens that do not say).
   */
  userinfo(sub: string, upstreamSub: string): Promise<Record<string, unknown>>;
  /** Refreshes unless someone else already replaced `stale`; returns the current tokens. */
  refresh(sub: string, stale: UpstreamTokens): Promise<UpstreamTokens>;
  /**
   * At sign-in, with the code grant's `tokens`: the upstream userinfo, refreshing once (under a
   * lock named after `attempt`) and retrying once on 401. Returns it with the tokens that worked.
   */
  userinfoAtSignIn(
    tokens: UpstreamTokens,
    expectedSub: string | undefined,
    attempt: string,
  ): Promise<{ userinfo: Record<string, unknown>; tokens: UpstreamTokens }>;
}

/** Where one set of upstream tokens lives: an account's entry in the store, or a sign-in in progress. */
interface TokenSlot {
  /** The store lock that serialises refreshes of these tokens. */
  lock: string;
  load(): Promise<UpstreamTokens | undefined>;
  save(tokens: UpstreamTokens): Promise<void>;
  remove(): Promise<void>;
}

function isUnauthorized(error: unknown): boolean {
  return (
    (error instanceof client.WWWAuthenticateChallengeError && error.status === 401) ||
    error instanceof UpstreamUnauthorizedError
  );
}

function isInvalidGrant(error: unknown): boolean {
  return (
    (error instanceof client.ResponseBodyError && error.error === 'invalid_grant') ||
    error instanceof UpstreamInvalidGrantError
  );
}

/**
 * The namespace of an upstream's tokens and refresh locks: its issuer and client id, not the
 * operator's id for it, so that renaming the id (as moving from the UPSTREAM_* shorthand to
 * GATEWAY_UPSTREAMS does) keeps every user's tokens, while two registrations at one issuer (two
 * Google clients) keep theirs apart: a refresh token works only with the client it was given to.
 */
export function vaultNamespace(issuer: string, clientId: string): string {
  return createHash('sha256').update(`${issuer}\n${clientId}`).digest('base64url').slice(0, 16);
}

export interface VaultOptions {
  /** {@link vaultNamespace} of the upstream. */
  namespace: string;
  ttlMs: number;
  /**
   * Whether this upstream owns the account's tokens stored before they were kept per upstream
   * (`upstream-tokens:<sub>`): the account's own upstream does. Asked only when this upstream has
   * none of its own; the tokens found are moved under this upstream's key.
   */
  ownsLegacyTokens?: (sub: string) => Promise<boolean>;
  onRefresh?: () => void;
}

export function createUpstreamTokenVault(
  store: Store,
  box: SecretBox,
  upstream: UpstreamClient,
  options: VaultOptions,
): UpstreamTokenVault {
  const { namespace, ttlMs, ownsLegacyTokens, onRefresh = () => {} } = options;
  const key = (sub: string) => `upstream-tokens:${namespace}:${sub}`;
  const legacyKey = (sub: string) => `upstream-tokens:${sub}`;

  /** The account's tokens from before they were kept per upstream, moved under this upstream's key. */
  async function adoptLegacy(sub: string): Promise<string | undefined> {
    if (!ownsLegacyTokens) return undefined;
    const sealed = await store.get<string>(legacyKey(sub));
    if (sealed === undefined || !(await ownsLegacyTokens(sub))) return undefined;
    await store.set(key(sub), sealed, ttlMs);
    await store.delete(legacyKey(sub));
    return sealed;
  }

  const accountSlot = (sub: string): TokenSlot => ({
    lock: `lock:upstream-refresh:${namespace}:${sub}`,
    load: () => vault.load(sub),
    save: (tokens) => vault.save(sub, tokens),
    remove: () => vault.remove(sub),
  });

  /** Refreshes the slot's tokens unless someone else already replaced `stale`. */
  async function refreshSlot(slot: TokenSlot, stale: UpstreamTokens): Promise<UpstreamTokens> {
    return withLock(store, slot.lock, async () => {
      const current = await slot.load();
      if (!current) throw new UpstreamLinkGoneError('no upstream tokens are stored for this account');
      if (current.access_token !== stale.access_token) return current;
      if (!current.refresh_token) throw new UpstreamLinkGoneError('the upstream gave no refresh token');
      try {
        onRefresh();
        const fresh = await upstream.refresh(current.refresh_token);
        const kept = current.subject === undefined ? fresh : { ...fresh, subject: current.subject };
        await slot.save(kept);
        return kept;
      } catch (error) {
        if (isInvalidGrant(error)) {
          await slot.remove();
          throw new UpstreamLinkGoneError('the upstream refused the refresh token (invalid_grant)');
        }
        throw error;
      }
    });
  }

  /** Userinfo with `tokens`; on 401 the slot is refreshed and the call retried once. */
  async function userinfoRefreshingOnce(
    slot: TokenSlot,
    tokens: UpstreamTokens,
    expectedSub: string | undefined,
  ): Promise<Record<string, unknown>> {
    try {
      return await upstream.userinfo(tokens.access_token, expectedSub);
    } catch (error) {
      if (!isUnauthorized(error)) throw error;
      // The upstream says the token is no longer good (revoked, or expired early): refresh, retry once.
      const fresh = await refreshSlot(slot, tokens);
      return upstream.userinfo(fresh.access_token, expectedSub);
    }
  }

  const vault: UpstreamTokenVault = {
    async load(sub) {
      const sealed = (await store.get<string>(key(sub))) ?? (await adoptLegacy(sub));
      return sealed === undefined ? undefined : box.open<UpstreamTokens>(sealed);
    },
    async save(sub, tokens) {
      await store.set(key(sub), box.seal(tokens), ttlMs);
    },
    async remove(sub) {
      await store.delete(key(sub));
    },
    async refresh(sub, stale) {
      return refreshSlot(accountSlot(sub), stale);
    },
    async userinfo(sub, upstreamSub) {
      let tokens = await vault.load(sub);
      if (!tokens) throw new UpstreamLinkGoneError('no upstream tokens are stored for this account');
      if (tokens.expires_at !== undefined && tokens.expires_at - EXPIRY_MARGIN_MS < Date.now()) {
        tokens = await vault.refresh(sub, tokens);
      }
      return userinfoRefreshingOnce(accountSlot(sub), tokens, tokens.subject ?? upstreamSub);
    },
    async userinfoAtSignIn(tokens, expectedSub, attempt) {
      // Just issued, so used as they are (no expiry check): only a 401 makes them refresh.
      let current: UpstreamTokens | undefined = tokens;
      const slot: TokenSlot = {
        lock: `lock:upstream-refresh:sign-in:${namespace}:${attempt}`,
        load: async () => current,
        save: async (fresh) => {
          current = fresh;
        },
        remove: async () => {
          current = undefined;
        },
      };
      const userinfo = await userinfoRefreshingOnce(slot, tokens, expectedSub);
      return { userinfo, tokens: current ?? tokens };
    },
  };
  return vault;
}

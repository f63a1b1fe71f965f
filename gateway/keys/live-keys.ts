/**
 * The key ring as this instance sees it, kept current: reloaded from the store at once when a
 * rotation is announced on the store's channel (by `npx gateway keys rotate` or another instance,
 * see rotateKeys), exactly when a pending key activates or a retired one expires, and every
 * `refreshMs` as the backstop for a missed announcement (an instance disconnected at that moment,
 * or a store whose channel reaches only its own process, such as SQLite). So every instance
 * publishes a new key, and with no roll-in signs with it, within moments of the rotation. A change
 * of what signs or what is published calls `onChange` (the gateway rebuilds its OpenID Provider).
 * With `rotationIntervalMs`, the instance that notices first rotates the keys (one pair only).
 *
 * A ring that vanishes from the store means the store lost its data while this instance ran (a
 * Redis restart without persistence, a FLUSHALL). The instance puts back the ring it holds, after
 * `onStoreEmptied` has put back the data key it is sealed with, instead of making new keys: new
 * keys would strand every token signed before, and an instance started afterwards would make
 * another data key and fail to open them (measured: it refused to start).
 */
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import {
  hasKeyRing,
  KEYS_CHANGED_CHANNEL,
  keyView,
  loadKeyRing,
  publicJwk,
  restoreKeyRing,
  rotateKeys,
  type KeyView,
  type PrivateJwk,
} from './signing-keys.ts';
import { audit } from '../web/audit.ts';

export interface LiveKeysOptions {
  store: Store;
  /** The store's sealing: the ring is sealed at rest. */
  sealing: Sealing;
  /** How long a replaced key stays published: the longest lifetime of a token it signed. */
  retentionMs: number;
  rollInMs: number;
  /** 0: no scheduled rotation. */
  rotationIntervalMs: number;
  refreshMs: number;
  onChange: (view: KeyView) => void;
  /**
   * Called when the ring this instance loaded has vanished from the store, before it is put back:
   * restores what must be there first (the data key that seals the ring). Throwing keeps the
   * current keys and puts nothing back.
   */
  onStoreEmptied?: () => Promise<void>;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export interface LiveKeys {
  view(): KeyView;
  /** Verification keys for jose: always the currently published ones. */
  keySet: JWTVerifyGetKey;
  jwks(): JSONWebKeySet;
  /** The key that signs access tokens now. */
  accessTokenKey(): PrivateJwk;
  /** Re-reads the ring now (after a rotation by this process, or in tests). */
  refresh(): Promise<void>;
  /** Stops the reloads and the listening. */
  stop(): Promise<void>;
}

export async function startLiveKeys(options: LiveKeysOptions): Promise<LiveKeys> {
  let ring = await loadKeyRing(options.store, options.sealing);
  let view = keyView(ring, Date.now(), options.retentionMs);
  let jwks: JSONWebKeySet = { keys: view.published.map(publicJwk) };
  let localSet = createLocalJWKSet(jwks);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const apply = (next: KeyView) => {
    const changed = next.fingerprint !== view.fingerprint;
    view = next;
    if (!changed) return;
    jwks = { keys: next.published.map(publicJwk) };
    localSet = createLocalJWKSet(jwks);
    options.log.info(
      { event: 'signing_keys_changed', signing: next.signing.map((k) => k.kid) },
      'signing keys changed',
    );
    options.onChange(next);
  };

  const maybeRotate = async () => {
    if (options.rotationIntervalMs <= 0) return;
    const current = view.statuses.filter((s) => s.status === 'current');
    const pending = view.statuses.some((s) => s.status === 'next');
    const oldest = Math.min(...current.map((s) => s.activatesAt));
    if (pending || Date.now() - oldest < options.rotationIntervalMs) return;
    const result = await rotateKeys(options.store, options.sealing, {
      rollInMs: options.rollInMs,
      retentionMs: options.retentionMs,
    });
    if (result.rotated)
      audit(
        options.log,
        'key.rotated',
        { actor: 'schedule', kids: result.kids, activates_at: new Date(result.activatesAt).toISOString() },
        'signing keys rotated',
      );
  };

  const refresh = async () => {
    if (!(await hasKeyRing(options.store))) {
      await options.onStoreEmptied?.();
      if (await restoreKeyRing(options.store, options.sealing, ring)) {
        options.log.warn(
          { event: 'signing_keys_restored', kids: ring.map((k) => k.kid) },
          'the store had lost the signing keys: this instance put back the ones it holds',
        );
      }
    }
    await maybeRotate();
    ring = await loadKeyRing(options.store, options.sealing);
    apply(keyView(ring, Date.now(), options.retentionMs));
  };

  // One reload at a time: an announcement heard during a reload runs one more after it.
  let reloading = false;
  let reloadAgain = false;
  const reload = () => {
    if (stopped) return;
    if (reloading) {
      reloadAgain = true;
      return;
    }
    reloading = true;
    clearTimeout(timer);
    refresh()
      .catch((error: unknown) =>
        options.log.warn(
          { err: (error as Error).message },
          'could not reload the signing keys; keeping the current ones',
        ),
      )
      .finally(() => {
        reloading = false;
        if (reloadAgain) {
          reloadAgain = false;
          reload();
        } else schedule();
      });
  };
  const schedule = () => {
    if (stopped) return;
    const untilChange = view.nextChangeAt === undefined ? Infinity : Math.max(0, view.nextChangeAt - Date.now()) + 5;
    timer = setTimeout(reload, Math.min(options.refreshMs, untilChange));
    timer.unref();
  };
  schedule();
  let unsubscribe: (() => Promise<void>) | undefined;
  try {
    // The message only says "reload": what signs is always read from the store.
    unsubscribe = await options.store.subscribe(KEYS_CHANGED_CHANNEL, reload);
  } catch (error) {
    options.log.warn(
      { err: (error as Error).message },
      'cannot listen for key rotations; the signing keys are reloaded on the poll only',
    );
  }

  return {
    view: () => view,
    keySet: (header, token) => localSet(header, token),
    jwks: () => jwks,
    accessTokenKey() {
      const key = view.signing.find((k) => k.alg === 'ES256');
      if (!key) throw new Error('no ES256 signing key in the ring');
      return key;
    },
    refresh,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await unsubscribe?.().catch(() => undefined);
    },
  };
}

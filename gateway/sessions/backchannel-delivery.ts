/**
 * Back-channel logout (OpenID Connect Back-Channel Logout 1.0): how a logout token reaches an app,
 * whoever asks for it (oidc-provider at `/session/end`, or the gateway's one sign-out,
 * sign-out.ts). The token itself is still built, signed and sent by oidc-provider
 * (`Client#backchannelLogout`, routed here by provider/oidc-provider-patches.ts, patch 4); this
 * decides when and how often:
 *
 * - Once per app session: the token is for one app's session (its `sid`), and a session is ended
 *   by more than one hand. At `/session/end` oidc-provider sends the tokens, then the sign-out
 *   completes the logout with the same steps as any other (so it asks again), and two instances
 *   may end one session at the same moment. The first to claim the app session in the store
 *   (set-if-absent on a keyed hash of client id and sid: neither is a credential, but the store
 *   names no session) sends; the others have nothing to do.
 * - With retries (1 s, 5 s, 25 s), each outcome logged.
 * - In the background on a gateway: oidc-provider awaits every client's POST before answering the
 *   browser, so one slow app would stall everyone's sign-out. A process that ends when its work
 *   does (the CLI) waits for the deliveries instead, and learns which failed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';

const RETRY_DELAYS_MS = [1_000, 5_000, 25_000];

/**
 * How long an app session is remembered as told: far longer than any sign-out takes, and a sid
 * never comes back (oidc-provider makes a new random one per app and session).
 */
const TOLD_MEMORY_MS = 60 * 60 * 1000;

/** Where each delivery's outcome is logged (pino's shape; the CLI writes failures to stderr). */
export interface DeliveryLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** What {@link backchannelDelivery} needs. */
export interface BackchannelDeliveryOptions {
  store: Store;
  sealing: Sealing;
  log: DeliveryLog;
  /**
   * True on a gateway: `backchannelLogout` returns once the app session is claimed, and delivers
   * in the background. False: it resolves when the token was delivered, and rejects with a
   * {@link BackchannelDeliveryError} when every attempt failed.
   */
  background: boolean;
}

/** Every attempt to deliver a logout token failed (each one logged). */
export class BackchannelDeliveryError extends Error {
  constructor(clientId: string, attempts: number, options: { cause: unknown }) {
    super(`back-channel logout to ${clientId} not delivered after ${attempts} attempts`, options);
    this.name = 'BackchannelDeliveryError';
  }
}

/**
 * The delivery of logout tokens, once per app session and with retries: given oidc-provider's own
 * `send` of one token, the client it is for and the app session's sid.
 */
export function backchannelDelivery(
  options: BackchannelDeliveryOptions,
): (send: () => Promise<void>, clientId: string, sid: string) => Promise<void> {
  const { store, sealing, log, background } = options;

  async function deliver(send: () => Promise<void>, clientId: string): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await send();
        log.info(
          { event: 'backchannel_logout_delivered', client_id: clientId, attempt },
          'back-channel logout delivered',
        );
        return;
      } catch (error) {
        const delay = RETRY_DELAYS_MS[attempt - 1];
        if (delay === undefined) {
          log.warn(
            {
              event: 'backchannel_logout_failed',
              client_id: clientId,
              attempts: attempt,
              reason: (error as Error).message,
            },
            'back-channel logout not delivered',
          );
          throw new BackchannelDeliveryError(clientId, attempt, { cause: error });
        }
        // A gateway shutting down does not wait for a retry; a CLI run does.
        await sleep(delay, undefined, { ref: !background });
      }
    }
  }

  return async (send, clientId, sid) => {
    const told = `backchannel-told:${sealing.hashId(`${clientId}\u0000${sid}`)}`;
    if (!(await store.setIfAbsent(told, true, TOLD_MEMORY_MS))) return;
    const delivery = deliver(send, clientId);
    if (!background) return delivery;
    // Logged in `deliver`; nobody waits for it.
    delivery.catch(() => undefined);
  };
}

/**
 * Back-channel logout (OpenID Connect Back-Channel Logout 1.0) that never blocks the user's
 * logout: oidc-provider awaits every client's POST before answering the browser, so one slow app
 * would stall everyone's sign-out. Here the delivery runs in the background, with retries
 * (1 s, 5 s, 25 s), and each outcome is logged. The logout token itself is still built and
 * signed by oidc-provider (`Client#backchannelLogout`).
 */
import type Provider from 'oidc-provider';

const RETRY_DELAYS_MS = [1_000, 5_000, 25_000];

export interface DeliveryLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

type BackchannelLogout = (this: { clientId: string }, sub: string, sid: string) => Promise<void>;

/** Makes `Client#backchannelLogout` return at once and deliver in the background. */
export function deliverBackchannelLogoutsInBackground(
  provider: Provider,
  log: DeliveryLog,
  delays = RETRY_DELAYS_MS,
): void {
  const prototype = provider.Client.prototype as unknown as { backchannelLogout: BackchannelLogout };
  const send = prototype.backchannelLogout;
  prototype.backchannelLogout = function backchannelLogout(sub: string, sid: string) {
    const attempt = async (n: number): Promise<void> => {
      try {
        await send.call(this, sub, sid);
        log.info(
          { event: 'backchannel_logout_delivered', client_id: this.clientId, attempt: n + 1 },
          'back-channel logout delivered',
        );
      } catch (error) {
        const delay = delays[n];
        if (delay === undefined) {
          log.warn(
            {
              event: 'backchannel_logout_failed',
              client_id: this.clientId,
              attempts: n + 1,
              reason: (error as Error).message,
            },
            'back-channel logout not delivered',
          );
          return;
        }
        setTimeout(() => void attempt(n + 1), delay).unref();
      }
    };
    void attempt(0);
    return Promise.resolve();
  };
}

/** Sends back-channel logout tokens to every client of an oidc-provider session that asked for them. */
export async function backchannelLogoutSession(
  provider: Provider,
  session: {
    accountId?: string;
    authorizations?: Record<string, unknown>;
    sidFor(clientId: string): string | undefined;
  },
): Promise<void> {
  if (!session.accountId) return;
  for (const clientId of Object.keys(session.authorizations ?? {})) {
    const client = await provider.Client.find(clientId);
    const sid = session.sidFor(clientId);
    if (client?.backchannelLogoutUri && sid) {
      await (client as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> }).backchannelLogout(
        session.accountId,
        sid,
      );
    }
  }
}

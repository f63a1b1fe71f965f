/**
 * The pace of a device's polling (RFC 8628 §3.5), which oidc-provider leaves to the deployment: it
 * neither says the interval in the device authorization response nor answers `slow_down`.
 *
 * - The device authorization response names `interval` (5 s, the RFC's default), so a client
 *   need not know the default.
 * - A poll of a device code sooner than its interval after the previous one is answered
 *   `slow_down`, and that code's interval grows by 5 s for this and every later poll, as the RFC
 *   says. One set-if-absent per poll (a marker that lives one interval), under a keyed hash of the
 *   device code; the count of slow-downs lives as long as a device code can.
 */
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import { DEVICE_CODE_GRANT } from '../web/grant-types.ts';
import { type FormContext, formParamsOrAnswer } from './form-body.ts';
import { PROVIDER_ROUTES } from './provider-routes.ts';

/** Seconds between polls, at least (RFC 8628 §3.2's default). */
export const DEVICE_POLL_INTERVAL_S = 5;
/** How long a device code lives (oidc-provider's DeviceCode TTL): the slow-down count no longer. */
const DEVICE_CODE_LIFETIME_MS = 600_000;

interface Ctx extends FormContext {
  method: string;
  path: string;
  status: number;
  body: unknown;
  set(name: string, value: string): void;
}

export function devicePolling(deps: { store: Store; sealing: Pick<Sealing, 'hashId'> }) {
  return async function pace(ctx: Ctx, next: () => Promise<void>): Promise<void> {
    if (ctx.method !== 'POST') return next();
    if (ctx.path === PROVIDER_ROUTES.device_authorization) {
      await next();
      const body = ctx.body;
      if (ctx.status === 200 && typeof body === 'object' && body !== null && !('interval' in body))
        ctx.body = { ...body, interval: DEVICE_POLL_INTERVAL_S };
      return;
    }
    if (ctx.path !== PROVIDER_ROUTES.token) return next();
    const params = await formParamsOrAnswer(ctx);
    if (params === null) return;
    const deviceCode = params?.get('device_code');
    if (params?.get('grant_type') !== DEVICE_CODE_GRANT || !deviceCode) return next();
    const id = deps.sealing.hashId(deviceCode);
    const slowdowns = Number((await deps.store.get<number>(`device-slow:${id}`)) ?? 0);
    const interval = DEVICE_POLL_INTERVAL_S + 5 * slowdowns;
    if (!(await deps.store.setIfAbsent(`device-poll:${id}`, 1, interval * 1000))) {
      await deps.store.increment(`device-slow:${id}`, DEVICE_CODE_LIFETIME_MS);
      ctx.status = 400;
      ctx.set('cache-control', 'no-store');
      ctx.body = {
        error: 'slow_down',
        error_description: `poll at most every ${interval + 5} seconds from now on`,
      };
      return;
    }
    return next();
  };
}

/**
 * The device authorization grant (RFC 8628): oidc-provider's `deviceFlow`, with the gateway's
 * pages (web/pages/device-pages.ts) instead of its own.
 *
 * User codes are 8 characters of 20 consonants (BCDFGHJKLMNPQRSTVWXZ: no vowels, so no words, and
 * nothing to confuse with a digit), shown as `XXXX-XXXX`: 20^8 ≈ 2.6 × 10^10 codes, 34.6 bits
 * (RFC 8628 §6.1 asks for enough entropy against guessing during a code's life). Wrong codes are
 * counted per address (provider-regulation.ts): past DEVICE_CODE_FAILURES in the failure window
 * the address is refused for a while. A code lives 10 minutes (oidc-provider's DeviceCode TTL),
 * and a device polling faster than the 5 s interval gets `slow_down` (§3.5).
 *
 * oidc-provider hands each page its form as HTML; the gateway reads the two values it needs from
 * it (where to post, the CSRF token) and draws its own accessible form around them.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import { PROVIDER_ROUTES } from './provider-routes.ts';
import {
  type DeviceCodeProblem,
  type DeviceForm,
  renderDeviceCodePage,
  renderDeviceConfirmPage,
  renderDeviceDonePage,
} from '../web/pages/device-pages.ts';

/** Where a wrong code is kept while the response is written, for provider-regulation.ts to count. */
export const WRONG_USER_CODE = Symbol('wrong user code');

/** A code from `verification_uri_complete`, shown in the field rather than submitted for the user. */
const PREFILLED_CODE = Symbol('prefilled user code');

interface GuardedContext {
  method: string;
  path: string;
  querystring: string;
  query: Record<string, unknown>;
  state: Record<symbol, unknown>;
  get(name: string): string;
  redirect(url: string): void;
  status: number;
}

/**
 * In front of the verification pages (a `provider.use()` middleware):
 * - `GET /device?user_code=…` (the `verification_uri_complete` a device may show as a QR code)
 *   shows the code in the field for the person to confirm with a click, where oidc-provider would
 *   submit it at once: another site linking its visitors to wrong codes would otherwise spend
 *   their address's wrong-code allowance without them typing anything.
 * - a post to the verification page, or a step after it, without the session cookie the page
 *   set (a form from nowhere) goes back to the page rather than to oidc-provider, which fails
 *   on such a request with an error of its own.
 */
export function deviceVerificationGuard() {
  return async function guard(ctx: GuardedContext, next: () => Promise<void>): Promise<void> {
    const onPage = ctx.path === PROVIDER_ROUTES.code_verification;
    const afterPage =
      ctx.path.startsWith(`${PROVIDER_ROUTES.code_verification}/`) && ctx.path !== PROVIDER_ROUTES.device_authorization;
    if (onPage && ctx.method === 'GET' && typeof ctx.query['user_code'] === 'string') {
      ctx.state[PREFILLED_CODE] = String(ctx.query['user_code']).slice(0, 32);
      ctx.querystring = '';
      return next();
    }
    if (
      ((onPage && ctx.method === 'POST') || afterPage) &&
      !/(?:^|;\s*)(?:__Host-)?gw_session=/.test(ctx.get('cookie'))
    ) {
      ctx.status = 303;
      ctx.redirect(PROVIDER_ROUTES.code_verification);
      return;
    }
    return next();
  };
}

/** The action and CSRF token of oidc-provider's device forms (helpers/user_code_form.js). */
function formFields(html: string): DeviceForm {
  const action = /\saction="([^"]+)"/.exec(html)?.[1];
  const xsrf = /name="xsrf" value="([^"]*)"/.exec(html)?.[1];
  if (action === undefined || xsrf === undefined) throw new Error('oidc-provider device form without action or xsrf');
  return { action, xsrf };
}

function problemOf(error: { name?: string; userCode?: string } | undefined): DeviceCodeProblem | undefined {
  if (error === undefined) return undefined;
  if (error.name === 'NoCodeError') return 'none';
  if (error.name === 'AbortedError') return 'aborted';
  // NotFoundError, ExpiredError, AlreadyUsedError carry the code typed in.
  if (error.userCode !== undefined) return 'wrong';
  return 'error';
}

function page(ctx: KoaContextWithOIDC, html: string): void {
  ctx.type = 'html';
  ctx.set('cache-control', 'no-store');
  ctx.body = html;
}

/** `knownScopes`: the scopes the gateway grants; any other the device asks for is not shown. */
export function deviceFlowFeature(knownScopes: readonly string[]) {
  const known = new Set(knownScopes);
  return {
    enabled: true as const,
    charset: 'base-20' as const,
    mask: '****-****',
    async userCodeInputSource(
      ctx: KoaContextWithOIDC,
      form: string,
      _out?: unknown,
      error?: { name?: string; userCode?: string },
    ) {
      const problem = problemOf(error);
      const state = ctx.state as Record<symbol, unknown>;
      if (problem === 'wrong' || problem === 'none') state[WRONG_USER_CODE] = true;
      const code = typeof state[PREFILLED_CODE] === 'string' ? (state[PREFILLED_CODE] as string) : undefined;
      page(ctx, renderDeviceCodePage(ctx.get('accept-language'), { ...formFields(form), problem, code }));
    },
    async userCodeConfirmSource(
      ctx: KoaContextWithOIDC,
      form: string,
      client: { clientId: string; clientName?: string | undefined },
      _deviceInfo: unknown,
      userCode: string,
    ) {
      const params = (ctx.oidc.entities as { DeviceCode?: { params?: Record<string, unknown> } }).DeviceCode?.params;
      const scopes = [
        ...new Set(
          String(params?.['scope'] ?? 'openid')
            .split(' ')
            .filter((scope) => known.has(scope)),
        ),
      ];
      page(
        ctx,
        renderDeviceConfirmPage(ctx.get('accept-language'), {
          ...formFields(form),
          userCode,
          clientName: client.clientName ?? client.clientId,
          scopes,
        }),
      );
    },
    async successSource(ctx: KoaContextWithOIDC) {
      page(ctx, renderDeviceDonePage(ctx.get('accept-language')));
    },
  };
}

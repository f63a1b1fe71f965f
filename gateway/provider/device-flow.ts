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
import {
  type DeviceCodeProblem,
  type DeviceForm,
  renderDeviceCodePage,
  renderDeviceConfirmPage,
  renderDeviceDonePage,
} from '../web/pages/device-pages.ts';

/** Where a wrong code is kept while the response is written, for provider-regulation.ts to count. */
export const WRONG_USER_CODE = Symbol('wrong user code');

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

export function deviceFlowFeature() {
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
      if (problem === 'wrong' || problem === 'none') (ctx.state as Record<symbol, boolean>)[WRONG_USER_CODE] = true;
      page(ctx, renderDeviceCodePage(ctx.get('accept-language'), { ...formFields(form), problem }));
    },
    async userCodeConfirmSource(
      ctx: KoaContextWithOIDC,
      form: string,
      client: { clientId: string; clientName?: string | undefined },
      _deviceInfo: unknown,
      userCode: string,
    ) {
      const params = (ctx.oidc.entities as { DeviceCode?: { params?: Record<string, unknown> } }).DeviceCode?.params;
      const scopes = String(params?.['scope'] ?? 'openid')
        .split(' ')
        .filter(Boolean);
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

/**
 * CSRF protection for the forms people post (the consent page, the development IdP's sign-in
 * page): a synchronizer token in a hidden field, plus the browser's own word on where the post came
 * from.
 *
 * - The token is an HMAC of the form's name and what the form acts on (the interaction uid),
 *   keyed by a key derived from the gateway's secrets (the first issues, all verify, so a secret
 *   rotation does not break a page already open). Only a page the gateway served to this browser
 *   holds it: another site cannot read it (same-origin policy) nor compute it, even knowing the
 *   uid. The interaction itself is bound to the browser by oidc-provider's cookie, so a token
 *   taken from one's own page is useless against another person's interaction.
 * - `Sec-Fetch-Site` (Fetch Metadata), when the browser sends it, must say `same-origin` (or
 *   `none`, a person's own navigation): a post from another site, sibling subdomains included,
 *   is refused before the token is even looked at.
 *
 * The session cookies are SameSite=Lax too, which already keeps cross-site posts from carrying
 * them (RFC 6265bis §8.8.2); this is the second, explicit line the issue asks for.
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The hidden field that carries the token. */
export const CSRF_FIELD = 'csrf';

/** Why a post was refused, for logs and metrics. */
export type CsrfRefusal = 'cross_site' | 'missing_token' | 'bad_token';

export interface CsrfGuard {
  /** The token for `form` acting on `binding` (e.g. an interaction uid). */
  token(form: string, binding: string): string;
  /** Undefined when the post may go ahead, else why not. */
  check(headers: IncomingHttpHeaders, form: string, binding: string, token: unknown): CsrfRefusal | undefined;
}

/** The hidden input to put inside a `<form>` (the token is base64url: nothing to escape). */
export function csrfInput(token: string): string {
  return `<input type="hidden" name="${CSRF_FIELD}" value="${token}">`;
}

/** A guard keyed by `secrets` (newest first; at least one); `onRefused` hears of each refusal (metrics). */
export function createCsrfGuard(
  secrets: readonly string[],
  onRefused?: (form: string, reason: CsrfRefusal) => void,
): CsrfGuard {
  if (secrets.length === 0) throw new Error('CSRF tokens need at least one secret');
  // A key of its own per secret, so a CSRF token never doubles as a cookie signature.
  // KeyObjects, made once (a raw key is imported again on every HMAC).
  const keys = secrets.map((secret) =>
    createSecretKey(createHmac('sha256', secret).update('gateway csrf token key').digest()),
  );
  const mac = (key: KeyObject, form: string, binding: string) =>
    createHmac('sha256', key).update(`${form}\n${binding}`).digest();

  function judge(headers: IncomingHttpHeaders, form: string, binding: string, token: unknown): CsrfRefusal | undefined {
    const site = headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return 'cross_site';
    if (typeof token !== 'string' || token === '') return 'missing_token';
    const given = Buffer.from(token, 'base64url');
    // timingSafeEqual needs equal lengths; a wrong length is simply a wrong token.
    const ok = keys.some((key) => {
      const expected = mac(key, form, binding);
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
    return ok ? undefined : 'bad_token';
  }

  return {
    token(form, binding) {
      return mac(keys[0] as KeyObject, form, binding).toString('base64url');
    },
    check(headers, form, binding, token) {
      const refusal = judge(headers, form, binding, token);
      if (refusal) onRefused?.(form, refusal);
      return refusal;
    },
  };
}

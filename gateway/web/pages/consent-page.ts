import { messagesFor, type MessageKey } from './i18n.ts';
import { escapeHtml, layout } from './layout.ts';
import { csrfInput } from '../csrf.ts';

/**
 * The consent page a third-party client's user sees: who asks, for what, allow or deny. Nothing
 * is focused at load: a stray Enter must not grant access.
 */
export function renderConsentPage(
  acceptLanguage: string | undefined,
  options: {
    uid: string;
    clientName: string;
    scopes: readonly string[];
    accountLabel: string | undefined;
    /** Where the app is answered (its redirect URI's host): a name can be chosen freely, a host cannot. */
    returnHost?: string | undefined;
    csrfToken?: string;
    /** The upstream the user signed in through, named where `upstream_token` is asked for. */
    upstreamName?: string | undefined;
  },
): string {
  const t = messagesFor(acceptLanguage);
  const items = options.scopes
    .map((scope) => {
      const key = `scope_${scope}` as MessageKey;
      const label =
        scope === 'upstream_token' && options.upstreamName
          ? t.scope_upstream_token_named.replace('{name}', options.upstreamName)
          : key in t
            ? t[key]
            : scope;
      return `<li>${escapeHtml(label)}</li>`;
    })
    .join('\n');
  const uid = encodeURIComponent(options.uid);
  // Without its CSRF token a form's post is refused (gateway/web/csrf.ts).
  const csrf = options.csrfToken ? csrfInput(options.csrfToken) : '';
  const who = options.accountLabel
    ? `<p class="muted small">${escapeHtml(t.consentAs)}: <strong>${escapeHtml(options.accountLabel)}</strong></p>`
    : '';
  const where = options.returnHost
    ? `<p class="muted small">${escapeHtml(t.consentReturnsTo)}: <strong>${escapeHtml(options.returnHost)}</strong></p>`
    : '';
  return layout({
    lang: t.lang,
    brand: t.brand,
    title: t.consentTitle,
    body: `<h1>${escapeHtml(t.consentTitle)}</h1>
<p><strong>${escapeHtml(options.clientName)}</strong> ${escapeHtml(t.consentIntro)}</p>
<ul>
${items}
</ul>
${who}
${where}
<p class="muted small">${escapeHtml(t.consentPrivacy)}</p>
<div class="actions">
<form method="post" action="/interaction/${uid}/confirm">${csrf}<button type="submit">${escapeHtml(t.consentAllow)}</button></form>
<form method="post" action="/interaction/${uid}/abort">${csrf}<button type="submit" class="secondary">${escapeHtml(t.consentDeny)}</button></form>
</div>`,
  });
}

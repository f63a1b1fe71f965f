import { messagesFor, type MessageKey } from './i18n.ts';
import { escapeHtml, layout } from './layout.ts';

/** The consent page a third-party client's user sees: who asks, for what, allow or deny. */
export function renderConsentPage(
  acceptLanguage: string | undefined,
  options: { uid: string; clientName: string; scopes: readonly string[]; accountLabel: string | undefined },
): string {
  const t = messagesFor(acceptLanguage);
  const items = options.scopes
    .map((scope) => {
      const key = `scope_${scope}` as MessageKey;
      const label = key in t ? t[key] : scope;
      return `<li>${escapeHtml(label)}</li>`;
    })
    .join('\n');
  const uid = encodeURIComponent(options.uid);
  const who = options.accountLabel ? `<p class="muted">${escapeHtml(t.consentAs)}: ${escapeHtml(options.accountLabel)}</p>` : '';
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
<div class="actions">
<form method="post" action="/interaction/${uid}/confirm"><button type="submit" autofocus>${escapeHtml(t.consentAllow)}</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit" class="secondary">${escapeHtml(t.consentDeny)}</button></form>
</div>`,
  });
}

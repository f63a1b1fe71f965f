import { csrfInput } from '../csrf.ts';
import { messagesFor } from './i18n.ts';
import { escapeHtml, layout } from './layout.ts';

/**
 * "Sign out of every app?", asked when a sign-out link was followed from another site (or by a
 * client that does not say where it came from): a link on someone else's page must not end a
 * person's session. Yes posts back with the page's CSRF token; No goes where the link pointed.
 */
export function renderSignOutPage(
  acceptLanguage: string | undefined,
  options: { action: string; rd: string; csrfToken: string },
): string {
  const t = messagesFor(acceptLanguage);
  return layout({
    lang: t.lang,
    brand: t.brand,
    title: t.signOutQuestion,
    body: `<h1>${escapeHtml(t.signOutQuestion)}</h1>
<p>${escapeHtml(t.signOutBody)}</p>
<div class="actions">
<form method="post" action="${escapeHtml(options.action)}">${csrfInput(options.csrfToken)}<input type="hidden" name="rd" value="${escapeHtml(options.rd)}"><button type="submit">${escapeHtml(t.signOutYes)}</button></form>
<a class="button secondary" href="${escapeHtml(options.rd)}">${escapeHtml(t.signOutNo)}</a>
</div>`,
  });
}

/**
 * The pages oidc-provider renders itself (errors it cannot redirect, the logout confirmation and
 * the signed-out page), in the gateway's own look and in the reader's language. Error pages
 * explain the OAuth `error` in words and show the code and its description, never a stack.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import { errorExplanation, messagesFor } from '../web/pages/i18n.ts';
import { escapeHtml, layout } from '../web/pages/layout.ts';
import { renderMessagePage } from '../web/pages/message-page.ts';

export function renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }): void {
  const acceptLanguage = ctx.get('accept-language');
  const t = messagesFor(acceptLanguage);
  const explained = errorExplanation(t, out.error);
  ctx.type = 'html';
  ctx.set('cache-control', 'no-store');
  ctx.set('vary', 'accept-language');
  ctx.body = renderMessagePage(acceptLanguage, {
    title: 'pageErrorTitle',
    message: explained ?? out.error_description ?? out.error,
    code: out.error,
    ...(explained && out.error_description ? { detail: out.error_description } : {}),
    extraHtml: `<p class="muted">${escapeHtml(t.errorBackToApp)}</p>`,
  });
}

export function logoutSource(ctx: KoaContextWithOIDC, form: string): void {
  const t = messagesFor(ctx.get('accept-language'));
  ctx.type = 'html';
  ctx.set('vary', 'accept-language');
  ctx.body = layout({
    lang: t.lang,
    brand: t.brand,
    title: t.signOutQuestion,
    body: `<h1>${escapeHtml(t.signOutQuestion)}</h1>
<p>${escapeHtml(t.signOutBody)}</p>
${form}
<div class="actions">
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">${escapeHtml(t.signOutYes)}</button>
<button class="secondary" type="submit" form="op.logoutForm">${escapeHtml(t.signOutNo)}</button>
</div>`,
  });
}

export function postLogoutSuccessSource(ctx: KoaContextWithOIDC): void {
  const t = messagesFor(ctx.get('accept-language'));
  ctx.type = 'html';
  ctx.set('vary', 'accept-language');
  ctx.body = renderMessagePage(ctx.get('accept-language'), { title: 'signedOutTitle', message: t.signedOutBody });
}

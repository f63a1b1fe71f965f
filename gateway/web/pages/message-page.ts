import { messagesFor, type MessageKey } from './i18n.ts';
import { escapeHtml, layout } from './layout.ts';

/**
 * A page that tells a person what happened and offers a way back. `message` is already in the
 * reader's language (or a description the gateway wrote); `code`, when given, is shown below it
 * as the error code to quote to an administrator.
 */
export function renderMessagePage(
  acceptLanguage: string | undefined,
  options: {
    title: MessageKey;
    message: string;
    code?: string;
    detail?: string;
    extraHtml?: string;
    link?: { href: string; label: MessageKey };
  },
): string {
  const t = messagesFor(acceptLanguage);
  const link = options.link
    ? `<div class="actions"><a class="button" href="${escapeHtml(options.link.href)}">${escapeHtml(t[options.link.label])}</a></div>`
    : '';
  const code = options.code
    ? `<p class="muted small">${escapeHtml(t.errorCode)}: <code>${escapeHtml(options.code)}</code>${options.detail ? ` · ${escapeHtml(options.detail)}` : ''}</p>\n`
    : '';
  return layout({
    lang: t.lang,
    brand: t.brand,
    title: t[options.title],
    body: `<h1>${escapeHtml(t[options.title])}</h1>\n<p>${escapeHtml(options.message)}</p>\n${code}${options.extraHtml ?? ''}${link}`,
  });
}

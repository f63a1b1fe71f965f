import { messagesFor, type MessageKey } from './i18n.ts';
import { escapeHtml, layout } from './layout.ts';

/** A page that tells a person what happened and offers a way back. */
export function renderMessagePage(
  acceptLanguage: string | undefined,
  options: { title: MessageKey; message: string; extraHtml?: string; link?: { href: string; label: MessageKey } },
): string {
  const t = messagesFor(acceptLanguage);
  const link = options.link ? `<p><a class="button" href="${escapeHtml(options.link.href)}">${escapeHtml(t[options.link.label])}</a></p>` : '';
  return layout({
    lang: t.lang,
    brand: t.brand,
    title: t[options.title],
    body: `<h1>${escapeHtml(t[options.title])}</h1>\n<p role="status">${escapeHtml(options.message)}</p>\n${options.extraHtml ?? ''}${link}`,
  });
}

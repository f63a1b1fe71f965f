/**
 * The frame of every page the gateway shows a person: no external assets, no inline script or
 * style (the stylesheet is served from /assets so a strict CSP needs no 'unsafe-inline').
 */
const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => entities[c] ?? c);
}

/** The gateway's mark: a shield with a keyhole, drawn inline (no request, nothing for a CSP to allow). */
const MARK =
  '<svg aria-hidden="true" focusable="false" width="20" height="20" viewBox="0 0 24 24"><path fill="currentColor" d="M12 2 4 5v6c0 5.1 3.4 9.5 8 11 4.6-1.5 8-5.9 8-11V5l-8-3Zm0 5a3 3 0 0 1 1 5.83V16h-2v-3.17A3 3 0 0 1 12 7Z"/></svg>';

/**
 * A whole HTML document around already-escaped `body`, signed `brand` under the gateway's mark; or,
 * with `tag`, signed `brand` in a tag and without the mark: a page served in someone else's name
 * (the development IdP stands in for Google, and must not pass for the gateway).
 */
export function layout(options: { lang: string; title: string; body: string; brand: string; tag?: boolean }): string {
  const signature = options.tag
    ? `<p class="tag">${escapeHtml(options.brand)}</p>`
    : `<p class="brand">${MARK}<span>${escapeHtml(options.brand)}</span></p>`;
  return `<!doctype html>
<html lang="${escapeHtml(options.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(options.title)} · ${escapeHtml(options.brand)}</title>
<link rel="stylesheet" href="/assets/gateway.css">
</head>
<body>
<main class="card">
${signature}
${options.body}
</main>
</body>
</html>
`;
}

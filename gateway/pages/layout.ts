/**
 * The frame of every page the gateway shows a person: no external assets, no inline script or
 * style (the stylesheet is served from /assets so a strict CSP needs no 'unsafe-inline').
 */
const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => entities[c] ?? c);
}

/** A whole HTML document around already-escaped `body`. */
export function layout(options: { lang: string; title: string; body: string; brand: string }): string {
  return `<!doctype html>
<html lang="${escapeHtml(options.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(options.title)} · ${escapeHtml(options.brand)}</title>
<link rel="stylesheet" href="/assets/gateway.css">
</head>
<body>
<main class="card">
<p class="brand">${escapeHtml(options.brand)}</p>
${options.body}
</main>
</body>
</html>
`;
}

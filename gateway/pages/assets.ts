/**
 * The stylesheet shared by every page: readable contrast (WCAG AA), a visible focus ring,
 * comfortable at phone width, and light/dark following the system.
 */
import type { FastifyInstance } from 'fastify';

const css = `:root{color-scheme:light dark;--bg:#f4f5f7;--fg:#1b1d21;--muted:#4a4f57;--card:#fff;--accent:#1849a9;--accent-fg:#fff;--border:#c9ced6;--danger:#a4161a}
@media (prefers-color-scheme:dark){:root{--bg:#121417;--fg:#eef0f3;--muted:#b9bec7;--card:#1d2025;--accent:#8fb3ff;--accent-fg:#0b1220;--border:#3b4048;--danger:#ff8a8a}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans KR","Apple SD Gothic Neo",sans-serif;padding:16px}
.card{width:100%;max-width:420px;background:var(--card);border:1px solid var(--border);border-radius:12px;padding:28px}
.brand{margin:0 0 8px;font-weight:600;color:var(--muted);letter-spacing:.02em}
h1{font-size:1.5rem;margin:0 0 16px}
label{display:block;font-weight:600;margin:16px 0 4px}
input[type=email],input[type=text]{width:100%;padding:10px 12px;border:1px solid var(--border);border-radius:8px;background:transparent;color:inherit;font:inherit}
.button,button{display:inline-block;padding:10px 18px;border-radius:8px;border:1px solid var(--accent);background:var(--accent);color:var(--accent-fg);font:inherit;font-weight:600;text-decoration:none;cursor:pointer}
button.secondary{background:transparent;color:var(--accent)}
.actions{display:flex;gap:12px;margin-top:24px;flex-wrap:wrap}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
ul{padding-left:1.2em}
.muted{color:var(--muted)}
.error{color:var(--danger)}
pre{white-space:pre-wrap;word-break:break-all;background:var(--bg);padding:12px;border-radius:8px;font-size:.85rem}
`;

/** Serves /assets/gateway.css. */
export async function assetRoutes(app: FastifyInstance): Promise<void> {
  app.get('/assets/gateway.css', (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(css),
  );
}

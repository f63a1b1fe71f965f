/**
 * The stylesheet shared by every page: readable contrast (WCAG AA: text 4.5:1, field borders
 * 3:1), a visible focus ring, 44 px touch targets, one column at phone width, light/dark
 * following the system, and Windows' forced colours respected.
 */
import type { FastifyInstance } from 'fastify';

/** The stylesheet's text, for a server of these pages other than the gateway (the tests' fake Google). */
export const stylesheet = `:root{color-scheme:light dark;--bg:#f4f5f7;--fg:#1b1d21;--muted:#4a4f57;--card:#fff;--accent:#1849a9;--accent-fg:#fff;--border:#c9ced6;--field:#8a919c;--danger:#a4161a;--shadow:0 1px 3px rgba(16,24,40,.08),0 8px 24px rgba(16,24,40,.06);--tag-bg:#fff4d6;--tag-fg:#5c3d00}
@media (prefers-color-scheme:dark){:root{--bg:#121417;--fg:#eef0f3;--muted:#b9bec7;--card:#1d2025;--accent:#8fb3ff;--accent-fg:#0b1220;--border:#3b4048;--field:#6b727d;--danger:#ff8a8a;--shadow:none;--tag-bg:#3d2e05;--tag-fg:#ffe3a3}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans KR","Apple SD Gothic Neo","Malgun Gothic",NanumGothic,sans-serif;padding:16px}
.card{width:100%;max-width:440px;background:var(--card);border:1px solid var(--border);border-radius:12px;padding:28px;box-shadow:var(--shadow)}
.brand{display:flex;align-items:center;gap:8px;margin:0 0 16px;font-weight:600;color:var(--muted);letter-spacing:.02em}
.brand svg{color:var(--accent);flex:none}
.tag{display:inline-block;margin:0 0 16px;padding:2px 10px;border-radius:999px;font-size:.85rem;font-weight:600;background:var(--tag-bg);color:var(--tag-fg)}
h1{font-size:1.5rem;line-height:1.3;margin:0 0 16px}
p{margin:0 0 16px}
label{display:block;font-weight:600;margin:16px 0 4px}
label .muted{font-weight:400}
input[type=email],input[type=text]{width:100%;padding:10px 12px;border:1px solid var(--field);border-radius:8px;background:transparent;color:inherit;font:inherit}
.button,button{display:inline-block;min-height:44px;padding:10px 18px;border-radius:8px;border:1px solid var(--accent);background:var(--accent);color:var(--accent-fg);font:inherit;font-weight:600;line-height:1.4;text-align:center;text-decoration:none;cursor:pointer}
button.secondary,.button.secondary{background:transparent;color:var(--accent)}
.button:hover,button:hover{filter:brightness(1.08)}
.actions{display:flex;gap:12px;margin-top:24px;flex-wrap:wrap}
.actions>*{flex:1 1 auto}
.actions form{margin:0;display:flex}
.actions form button{flex:1}
.actions.stacked{flex-direction:column;gap:8px}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
ul{padding-left:1.2em;margin:0 0 16px}
li{margin:4px 0}
.muted{color:var(--muted)}
.small{font-size:.875rem}
.error{color:var(--danger)}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;overflow-wrap:anywhere}
.user-code code{font-size:1.6rem;letter-spacing:.12em}
pre{white-space:pre-wrap;word-break:break-all;background:var(--bg);padding:12px;border-radius:8px;font-size:.85rem}
@media (max-width:480px){body{align-items:flex-start}.card{padding:20px}.actions{flex-direction:column}.actions form,.actions .button,.actions button{width:100%}.actions form button{width:100%}}
@media (forced-colors:active){.button,button{border:2px solid ButtonText}}
`;

/** Serves /assets/gateway.css. */
export async function assetRoutes(app: FastifyInstance): Promise<void> {
  app.get('/assets/gateway.css', (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(stylesheet),
  );
}

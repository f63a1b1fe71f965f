/**
 * HTML pages of the development IdP: sign-in, consent and error, in English or Korean chosen by
 * `Accept-Language` (as Google chooses its own pages' language). Self-contained (no external
 * assets, no script, no link), so they work offline and under a strict Content-Security-Policy;
 * labelled fields, a visible focus ring, WCAG AA contrast in light and dark, usable at phone width.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { negotiateLanguage } from '../web/pages/i18n.ts';
import { csrfInput } from '../web/csrf.ts';

const STYLE = `
:root { color-scheme: light dark; --bg: #f4f5f7; --fg: #1b1d21; --muted: #4a4f57; --card: #fff;
  --accent: #1849a9; --accent-fg: #fff; --border: #8a919c; --tag-bg: #fff4d6; --tag-fg: #5c3d00; }
@media (prefers-color-scheme: dark) { :root { --bg: #121417; --fg: #eef0f3; --muted: #b9bec7;
  --card: #1d2025; --accent: #8fb3ff; --accent-fg: #0b1220; --border: #6b727d; --tag-bg: #3d2e05; --tag-fg: #ffe3a3; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 16px; display: flex; justify-content: center; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans KR", "Apple SD Gothic Neo", "Malgun Gothic", NanumGothic, sans-serif; }
main { width: 100%; max-width: 26rem; margin-top: 8vh; padding: 28px; background: var(--card);
  border: 1px solid var(--border); border-radius: 12px; }
.tag { display: inline-block; margin: 0 0 16px; padding: 2px 10px; border-radius: 999px; font-size: .85rem;
  font-weight: 600; background: var(--tag-bg); color: var(--tag-fg); }
h1 { font-size: 1.5rem; margin: 0 0 4px; }
p { margin: 0 0 16px; }
.note { font-size: .9rem; color: var(--muted); }
label { display: block; font-weight: 600; margin: 16px 0 4px; }
.optional { font-weight: 400; color: var(--muted); }
input { width: 100%; font: inherit; padding: 10px 12px; border: 1px solid var(--border); border-radius: 8px;
  background: transparent; color: inherit; }
button { font: inherit; font-weight: 600; width: 100%; margin-top: 20px; padding: 10px 18px; border-radius: 8px;
  border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg); cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); margin-top: 8px; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
ul { padding-left: 1.25rem; }
code { overflow-wrap: anywhere; }
@media (max-width: 480px) { main { margin-top: 2vh; padding: 20px; } }
`;

/**
 * Content-Security-Policy for every page: nothing may load or run; only the one inline style,
 * allowed by its hash. `form-action` is left open on purpose: Chromium applies it to the redirects
 * that follow a form post, and the sign-in ends in a redirect to the client's redirect_uri.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const en = {
  lang: 'en',
  tag: 'Development IdP',
  signInTitle: 'Sign in',
  continueTo: (client: string) => `to continue to <strong>${client}</strong>`,
  note: 'A development identity provider standing in for Google. Any e-mail address works; there is no password.',
  hostedDomain: (domain: string) => `The application asked for an account of <strong>${domain}</strong>.`,
  email: 'E-mail address',
  name: 'Display name',
  optional: '(optional)',
  namePlaceholder: 'Ada Lovelace',
  signIn: 'Sign in',
  cancel: 'Cancel',
  consentTitle: 'Allow access',
  consentIntro: (client: string, email: string) =>
    `<strong>${client}</strong> wants to access your account <strong>${email}</strong>:`,
  allow: 'Allow',
  deny: 'Deny',
  errorTitle: 'Something went wrong',
  errorPage: 'Error',
};

type Texts = typeof en;

const ko: Texts = {
  lang: 'ko',
  tag: '개발용 IdP',
  signInTitle: '로그인',
  continueTo: (client) => `<strong>${client}</strong>(으)로 계속하려면 로그인하세요`,
  note: 'Google을 대신하는 개발용 ID 공급자입니다. 아무 이메일 주소나 사용할 수 있으며 비밀번호는 없습니다.',
  hostedDomain: (domain) => `앱이 <strong>${domain}</strong> 계정을 요청했습니다.`,
  email: '이메일 주소',
  name: '표시 이름',
  optional: '(선택)',
  namePlaceholder: '홍길동',
  signIn: '로그인',
  cancel: '취소',
  consentTitle: '접근 허용',
  consentIntro: (client, email) =>
    `<strong>${client}</strong> 앱이 <strong>${email}</strong> 계정에 접근하려고 합니다:`,
  allow: '허용',
  deny: '거부',
  errorTitle: '문제가 발생했습니다',
  errorPage: '오류',
};

const texts: Record<string, Texts> = { en, ko };

function textsFor(acceptLanguage: string | undefined): Texts {
  return texts[negotiateLanguage(acceptLanguage, Object.keys(texts))] ?? en;
}

/** Escapes text for HTML element content and double-quoted attribute values. */
function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function layout(t: Texts, title: string, body: string): string {
  return `<!doctype html>
<html lang="${t.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · ${escapeHtml(t.tag)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<p class="tag">${escapeHtml(t.tag)}</p>
${body}
</main>
</body>
</html>
`;
}

/** The hidden CSRF field, when the page has a token. */
function hidden(csrfToken: string | undefined): string {
  return csrfToken ? csrfInput(csrfToken) : '';
}

/** Inputs for {@link renderSignInPage}. */
export interface SignInPageInput {
  /** Where the form posts (the interaction URL). */
  action: string;
  /** Where "Cancel" posts. */
  abortAction: string;
  clientId: string;
  /** Prefills the e-mail field (OpenID Connect `login_hint`). */
  loginHint?: string;
  /** Workspace domain the client asked for (Google's `hd` parameter); shown as a hint only. */
  hostedDomain?: string;
  /** The browser's `Accept-Language`: English or Korean. */
  acceptLanguage?: string;
  /** The forms' CSRF token (gateway/web/csrf.ts), posted back in a hidden field. */
  csrfToken?: string;
}

/**
 * The sign-in form: e-mail and display name, no password. Tests may also post `sub`,
 * `email_verified` (`true`, `false`, `unsent`) and `hd`, which a person never needs and so are
 * not shown.
 */
export function renderSignInPage(input: SignInPageInput): string {
  const t = textsFor(input.acceptLanguage);
  const hint = input.hostedDomain ? `<p class="note">${t.hostedDomain(escapeHtml(input.hostedDomain))}</p>\n` : '';
  return layout(
    t,
    t.signInTitle,
    `<h1>${escapeHtml(t.signInTitle)}</h1>
<p>${t.continueTo(escapeHtml(input.clientId))}</p>
<p class="note" id="about">${escapeHtml(t.note)}</p>
${hint}<form method="post" action="${escapeHtml(input.action)}">${hidden(input.csrfToken)}
<label for="email">${escapeHtml(t.email)}</label>
<input id="email" name="email" type="email" required autocomplete="email" autofocus aria-describedby="about" value="${escapeHtml(input.loginHint ?? '')}">
<label for="name">${escapeHtml(t.name)} <span class="optional">${escapeHtml(t.optional)}</span></label>
<input id="name" name="name" type="text" autocomplete="name" placeholder="${escapeHtml(t.namePlaceholder)}">
<button type="submit">${escapeHtml(t.signIn)}</button>
</form>
<form method="post" action="${escapeHtml(input.abortAction)}">${hidden(input.csrfToken)}
<button type="submit" class="secondary">${escapeHtml(t.cancel)}</button>
</form>`,
  );
}

/** Inputs for {@link renderConsentPage}. */
export interface ConsentPageInput {
  action: string;
  abortAction: string;
  clientId: string;
  email: string;
  scopes: string[];
  /** The browser's `Accept-Language`: English or Korean. */
  acceptLanguage?: string;
  /** The forms' CSRF token (gateway/web/csrf.ts), posted back in a hidden field. */
  csrfToken?: string;
}

/** The consent page, shown only when the IdP was created with `autoConsent: false`. */
export function renderConsentPage(input: ConsentPageInput): string {
  const t = textsFor(input.acceptLanguage);
  const items = input.scopes.map((scope) => `<li><code>${escapeHtml(scope)}</code></li>`).join('');
  return layout(
    t,
    t.consentTitle,
    `<h1>${escapeHtml(t.consentTitle)}</h1>
<p>${t.consentIntro(escapeHtml(input.clientId), escapeHtml(input.email))}</p>
<ul>${items}</ul>
<form method="post" action="${escapeHtml(input.action)}">${hidden(input.csrfToken)}
<button type="submit">${escapeHtml(t.allow)}</button>
</form>
<form method="post" action="${escapeHtml(input.abortAction)}">${hidden(input.csrfToken)}
<button type="submit" class="secondary">${escapeHtml(t.deny)}</button>
</form>`,
  );
}

/** An error page for errors that cannot go back to the client (RFC 6749 §4.1.2.1). */
export function renderErrorPage(error: string, description?: string, acceptLanguage?: string): string {
  const t = textsFor(acceptLanguage);
  const detail = description ? `<p>${escapeHtml(description)}</p>` : '';
  return layout(
    t,
    t.errorPage,
    `<h1>${escapeHtml(t.errorTitle)}</h1>
<p><code>${escapeHtml(error)}</code></p>
${detail}`,
  );
}

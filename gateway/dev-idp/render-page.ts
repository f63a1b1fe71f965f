/**
 * HTML pages of the development IdP: sign-in, consent and error. Self-contained (no external
 * assets, no script), so they work offline and under a strict Content-Security-Policy.
 *
 * @module
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0; padding: 1rem; display: flex; justify-content: center; }
main { width: 100%; max-width: 24rem; margin-top: 8vh; padding: 1.5rem;
  border: 1px solid #8886; border-radius: 0.75rem; }
h1 { font-size: 1.4rem; margin: 0 0 0.5rem; }
p { margin: 0 0 1rem; }
.note { font-size: 0.9rem; opacity: 0.8; }
label { display: block; font-weight: 600; margin: 0.75rem 0 0.25rem; }
input { box-sizing: border-box; width: 100%; font: inherit; padding: 0.6rem;
  border: 1px solid #888; border-radius: 0.4rem; }
button { font: inherit; width: 100%; margin-top: 1rem; padding: 0.6rem; border-radius: 0.4rem;
  border: 1px solid #1a56c4; background: #1a56c4; color: #fff; cursor: pointer; }
button.secondary { background: transparent; color: inherit; border-color: #888; margin-top: 0.5rem; }
ul { padding-left: 1.25rem; }
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

/** Escapes text for HTML element content and double-quoted attribute values. */
function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · Development IdP</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
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
}

/**
 * The sign-in form: e-mail and display name, no password. Tests may also post `sub`,
 * `email_verified` and `hd`, which a person never needs and so are not shown.
 */
export function renderSignInPage(input: SignInPageInput): string {
  const hint = input.hostedDomain
    ? `<p class="note">The application asked for an account of <strong>${escapeHtml(input.hostedDomain)}</strong>.</p>`
    : '';
  return layout('Sign in', `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(input.clientId)}</strong></p>
<p class="note">Development identity provider standing in for Google. Any e-mail address works; there is no password.</p>
${hint}
<form method="post" action="${escapeHtml(input.action)}">
<label for="email">E-mail address</label>
<input id="email" name="email" type="email" required autocomplete="email" autofocus value="${escapeHtml(input.loginHint ?? '')}">
<label for="name">Display name</label>
<input id="name" name="name" type="text" autocomplete="name" placeholder="Ada Lovelace">
<button type="submit">Sign in</button>
</form>
<form method="post" action="${escapeHtml(input.abortAction)}">
<button type="submit" class="secondary">Cancel</button>
</form>`);
}

/** Inputs for {@link renderConsentPage}. */
export interface ConsentPageInput {
  action: string;
  abortAction: string;
  clientId: string;
  email: string;
  scopes: string[];
}

/** The consent page, shown only when the IdP was created with `autoConsent: false`. */
export function renderConsentPage(input: ConsentPageInput): string {
  const items = input.scopes.map((scope) => `<li>${escapeHtml(scope)}</li>`).join('');
  return layout('Allow access', `<h1>Allow access</h1>
<p><strong>${escapeHtml(input.clientId)}</strong> wants to access your account <strong>${escapeHtml(input.email)}</strong>:</p>
<ul>${items}</ul>
<form method="post" action="${escapeHtml(input.action)}">
<button type="submit">Allow</button>
</form>
<form method="post" action="${escapeHtml(input.abortAction)}">
<button type="submit" class="secondary">Deny</button>
</form>`);
}

/** An error page for errors that cannot go back to the client (RFC 6749 §4.1.2.1). */
export function renderErrorPage(error: string, description?: string): string {
  const detail = description ? `<p>${escapeHtml(description)}</p>` : '';
  return layout('Error', `<h1>Something went wrong</h1>
<p><code>${escapeHtml(error)}</code></p>
${detail}`);
}

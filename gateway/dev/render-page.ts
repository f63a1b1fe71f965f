/**
 * HTML pages of the development IdP: sign-in and error, in the gateway's page kit (layout,
 * stylesheet, languages: gateway/web/pages/), so they look like the gateway's own pages, in English
 * or Korean by `Accept-Language` (as Google chooses its own pages' language). Signed with a
 * "Development IdP" tag instead of the gateway's mark: the page stands in for Google.
 *
 * @module
 */
import { csrfInput } from '../web/csrf.ts';
import { errorExplanation, messagesFor, type MessageKey } from '../web/pages/i18n.ts';
import { escapeHtml, layout } from '../web/pages/layout.ts';

type Messages = ReturnType<typeof messagesFor>;

/** `key`'s text with each `{name}` replaced by its value, escaped and in bold; the rest escaped. */
function fill(t: Messages, key: MessageKey, values: Record<string, string>): string {
  return t[key]
    .split(/(\{\w+\})/)
    .map((part) => {
      const value = /^\{(\w+)\}$/.exec(part)?.[1];
      return value === undefined ? escapeHtml(part) : `<strong>${escapeHtml(values[value] ?? '')}</strong>`;
    })
    .join('');
}

function page(t: Messages, title: string, body: string): string {
  return layout({ lang: t.lang, brand: t.devIdpTag, tag: true, title, body });
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
 * The sign-in form: e-mail and display name, no password. Both buttons stand under the form, the
 * "Sign in" one tied to it by its `form` attribute (Enter in a field still submits it).
 */
export function renderSignInPage(input: SignInPageInput): string {
  const t = messagesFor(input.acceptLanguage);
  const csrf = input.csrfToken ? csrfInput(input.csrfToken) : '';
  const hint = input.hostedDomain
    ? `<p class="muted small">${fill(t, 'devHostedDomain', { domain: input.hostedDomain })}</p>\n`
    : '';
  return page(
    t,
    t.devSignInTitle,
    `<h1>${escapeHtml(t.devSignInTitle)}</h1>
<p>${fill(t, 'devContinueTo', { client: input.clientId })}</p>
<p class="muted small" id="about">${escapeHtml(t.devAbout)}</p>
${hint}<form id="sign-in" method="post" action="${escapeHtml(input.action)}">${csrf}
<label for="email">${escapeHtml(t.devEmail)}</label>
<input id="email" name="email" type="email" required autocomplete="email" autofocus aria-describedby="about" value="${escapeHtml(input.loginHint ?? '')}">
<label for="name">${escapeHtml(t.devName)} <span class="muted">${escapeHtml(t.devOptional)}</span></label>
<input id="name" name="name" type="text" autocomplete="name" placeholder="${escapeHtml(t.devNamePlaceholder)}">
</form>
<div class="actions stacked">
<button type="submit" form="sign-in">${escapeHtml(t.signInButton)}</button>
<form method="post" action="${escapeHtml(input.abortAction)}">${csrf}<button type="submit" class="secondary">${escapeHtml(t.devCancel)}</button></form>
</div>`,
  );
}

/**
 * An error page for errors that cannot go back to the client (RFC 6749 §4.1.2.1): the
 * description (else the error's explanation in the reader's language) and the error code.
 */
export function renderErrorPage(error: string, description?: string, acceptLanguage?: string): string {
  const t = messagesFor(acceptLanguage);
  const message = description ?? errorExplanation(t, error);
  return page(
    t,
    t.pageErrorTitle,
    `<h1>${escapeHtml(t.pageErrorTitle)}</h1>
${message ? `<p>${escapeHtml(message)}</p>\n` : ''}<p class="muted small">${escapeHtml(t.errorCode)}: <code>${escapeHtml(error)}</code></p>`,
  );
}

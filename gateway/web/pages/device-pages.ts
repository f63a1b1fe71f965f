/**
 * The pages of the device authorization grant (RFC 8628 §3.3) in the gateway's look, English or
 * Korean: where a person types the code their device shows, where they confirm that this device,
 * this app and these permissions are what they meant (the defence against a code sent to them by
 * someone else, §5.4), and the page that says it is done. Forms post to oidc-provider's own
 * verification endpoint with its CSRF token.
 */
import { messagesFor, type MessageKey } from './i18n.ts';
import { escapeHtml, layout } from './layout.ts';

/** What went wrong with the code typed in, if anything. */
export type DeviceCodeProblem = 'wrong' | 'none' | 'aborted' | 'error';

const PROBLEM_TEXT: Record<DeviceCodeProblem, MessageKey> = {
  wrong: 'deviceWrongCode',
  none: 'deviceNoCode',
  aborted: 'deviceAborted',
  error: 'deviceError',
};

/** oidc-provider's form fields: where to post, and its CSRF token (`xsrf`). */
export interface DeviceForm {
  action: string;
  xsrf: string;
}

export function renderDeviceCodePage(
  acceptLanguage: string | undefined,
  options: DeviceForm & { problem?: DeviceCodeProblem | undefined; code?: string | undefined },
): string {
  const t = messagesFor(acceptLanguage);
  const problem = options.problem
    ? `<p id="problem" class="error" role="alert">${escapeHtml(t[PROBLEM_TEXT[options.problem]])}</p>\n`
    : '';
  const described = options.problem ? 'code-hint problem' : 'code-hint';
  return layout({
    lang: t.lang,
    brand: t.brand,
    title: t.deviceTitle,
    body: `<h1>${escapeHtml(t.deviceTitle)}</h1>
<p>${escapeHtml(t.deviceIntro)}</p>
${problem}<form method="post" action="${escapeHtml(options.action)}">
<input type="hidden" name="xsrf" value="${escapeHtml(options.xsrf)}">
<label for="user_code">${escapeHtml(t.deviceCodeLabel)}</label>
<input id="user_code" name="user_code" type="text" required autofocus autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" maxlength="32" aria-describedby="${described}"${options.problem ? ' aria-invalid="true"' : ''}${options.code ? ` value="${escapeHtml(options.code)}"` : ''}>
<p id="code-hint" class="muted small">${escapeHtml(t.deviceCodeHint)}</p>
<div class="actions"><button type="submit">${escapeHtml(t.deviceContinue)}</button></div>
</form>`,
  });
}

export function renderDeviceConfirmPage(
  acceptLanguage: string | undefined,
  options: DeviceForm & { userCode: string; clientName: string; scopes: readonly string[] },
): string {
  const t = messagesFor(acceptLanguage);
  const items = options.scopes
    .map((scope) => {
      const key = `scope_${scope}` as MessageKey;
      return `<li>${escapeHtml(key in t ? t[key] : scope)}</li>`;
    })
    .join('\n');
  const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  const fields = `${hidden('xsrf', options.xsrf)}${hidden('user_code', options.userCode)}`;
  return layout({
    lang: t.lang,
    brand: t.brand,
    title: t.deviceConfirmTitle,
    body: `<h1>${escapeHtml(t.deviceConfirmTitle)}</h1>
<p><strong>${escapeHtml(options.clientName)}</strong> ${escapeHtml(t.deviceConfirmIntro)}</p>
<p class="user-code"><code>${escapeHtml(options.userCode)}</code></p>
<p>${escapeHtml(t.deviceConfirmAsks)}</p>
<ul>
${items}
</ul>
<div class="actions">
<form method="post" action="${escapeHtml(options.action)}">${fields}${hidden('confirm', 'yes')}<button type="submit">${escapeHtml(t.deviceConfirmYes)}</button></form>
<form method="post" action="${escapeHtml(options.action)}">${fields}${hidden('abort', 'yes')}<button type="submit" class="secondary">${escapeHtml(t.deviceConfirmNo)}</button></form>
</div>`,
  });
}

export function renderDeviceDonePage(acceptLanguage: string | undefined): string {
  const t = messagesFor(acceptLanguage);
  return layout({
    lang: t.lang,
    brand: t.brand,
    title: t.deviceDoneTitle,
    body: `<h1>${escapeHtml(t.deviceDoneTitle)}</h1>\n<p>${escapeHtml(t.deviceDoneBody)}</p>`,
  });
}

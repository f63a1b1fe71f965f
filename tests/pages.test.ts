/**
 * The pages people see (the gateway's and the development IdP's): language by Accept-Language,
 * escaping, no script or external asset, labelled fields, no focus on a consent button.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { renderErrorPage, renderSignInPage } from '../gateway/dev/render-page.ts';
import { renderConsentPage } from '../gateway/web/pages/consent-page.ts';
import { errorExplanation, messagesFor, negotiateLanguage } from '../gateway/web/pages/i18n.ts';
import { renderMessagePage } from '../gateway/web/pages/message-page.ts';
import { renderError } from '../gateway/provider/provider-pages.ts';

describe('pages', () => {
  it('negotiates English or Korean from Accept-Language (RFC 9110 §12.5.4)', () => {
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'en'],
      ['', 'en'],
      ['ko', 'ko'],
      ['ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7', 'ko'],
      ['en-US,en;q=0.9,ko;q=0.8', 'en'],
      ['fr-FR,ko;q=0.5', 'ko'],
      ['fr-FR,de;q=0.9', 'en'],
      ['*', 'en'],
      ['ko;q=0', 'en'],
      ['ko;q=abc', 'en'],
    ];
    for (const [header, expected] of cases)
      assert.equal(negotiateLanguage(header, ['en', 'ko']), expected, String(header));
    assert.equal(messagesFor('ko').lang, 'ko');
  });

  it("renders the development IdP sign-in page in Korean, labelled, in the gateway's page kit", () => {
    const html = renderSignInPage({
      action: '/interaction/x',
      abortAction: '/interaction/x/abort',
      clientId: '<app>',
      acceptLanguage: 'ko-KR',
    });
    assert.match(html, /<html lang="ko">/);
    assert.match(html, /<label for="email">이메일 주소<\/label>/);
    assert.match(html, /<label for="name">표시 이름/);
    assert.match(html, /<strong>&lt;app&gt;<\/strong>\(으\)로 계속하려면/);
    assert.doesNotMatch(html, /<app>|<script|src=/i);
    assert.deepEqual(
      [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]),
      ['/assets/gateway.css'],
      "nothing loads but the gateway's own stylesheet",
    );
    assert.match(html, /<p class="tag">개발용 IdP<\/p>/);
    assert.match(
      renderSignInPage({ action: '/a', abortAction: '/b', clientId: 'c' }),
      /<html lang="en">[\s\S]*E-mail address/,
    );
    assert.match(
      renderErrorPage('invalid_request', 'bad <input>', 'ko'),
      /문제가 발생했습니다[\s\S]*bad &lt;input&gt;/,
    );
  });

  it('never focuses a consent button, and escapes the app name', () => {
    const html = renderConsentPage('en', {
      uid: 'u1',
      clientName: '<b>Evil</b>',
      scopes: ['openid', 'email', 'custom'],
      accountLabel: 'a@b.test',
      csrfToken: 't0ken',
    });
    assert.doesNotMatch(html, /autofocus/);
    assert.match(html, /&lt;b&gt;Evil&lt;\/b&gt;/);
    assert.match(html, /Your e-mail address/);
    assert.match(html, /<li>custom<\/li>/);
    assert.match(
      renderConsentPage('ko', {
        uid: 'u1',
        clientName: 'App',
        scopes: ['email'],
        accountLabel: undefined,
        csrfToken: 't0ken',
      }),
      /<html lang="ko">[\s\S]*이메일 주소/,
    );
  });

  it('shows on the consent page where the app is answered, in both languages (a name is chosen freely, a host is not)', () => {
    assert.match(
      renderConsentPage('en', {
        uid: 'u1',
        clientName: 'Google',
        scopes: ['openid'],
        accountLabel: undefined,
        returnHost: 'evil.example.net',
        csrfToken: 't',
      }),
      /Afterwards you go to: <strong>evil\.example\.net<\/strong>/,
    );
    assert.match(
      renderConsentPage('ko', {
        uid: 'u1',
        clientName: 'Google',
        scopes: ['openid'],
        accountLabel: undefined,
        returnHost: 'evil.example.net',
        csrfToken: 't',
      }),
      /이후 이동할 곳: <strong>evil\.example\.net<\/strong>/,
    );
  });

  it('explains OAuth errors in the reader language and shows the code', () => {
    assert.equal(errorExplanation(messagesFor('en'), 'no_such_error'), undefined);
    const page = renderMessagePage('en', { title: 'pageErrorTitle', message: 'm', code: 'invalid_<x>' });
    assert.match(page, /Error code: <code>invalid_&lt;x&gt;<\/code>/);

    const headers: Record<string, string> = {};
    const ctx = {
      get: (name: string) => (name === 'accept-language' ? 'ko' : ''),
      set: (name: string, value: string) => (headers[name] = value),
      type: '',
      body: '',
    };
    renderError(ctx as unknown as KoaContextWithOIDC, {
      error: 'invalid_client',
      error_description: 'client is invalid',
    });
    assert.equal(headers['cache-control'], 'no-store');
    assert.match(String(ctx.body), /<html lang="ko">/);
    assert.match(String(ctx.body), /게이트웨이에 등록되어 있지 않습니다/);
    assert.match(String(ctx.body), /invalid_client/);
    assert.match(String(ctx.body), /client is invalid/);
  });
});

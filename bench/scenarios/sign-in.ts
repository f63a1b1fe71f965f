/** Signs a benchmark user in (once, before measuring): a forward-auth cookie and an API token. */
import { createBrowser } from '../../tests/helpers/browser.ts';
import { signInAtFakeGoogle } from '../../tests/helpers/fake-google.ts';
import {
  authorizeInBrowser,
  confidentialClient,
  discoverApp,
  redeem,
  startAuthorization,
} from '../../tests/helpers/relying-party.ts';

export async function signInForBench(issuer: string, google: string) {
  const browser = createBrowser();
  const start = await browser.follow(`${issuer}/oauth2/start?rd=/`, (url) => url.href.startsWith(google));
  if (!start.location) throw new Error('forward-auth sign-in did not reach the fake Google');
  const back = await signInAtFakeGoogle(start.location.href, (url, init) => browser.fetch(url, init), {
    email: 'bench@example.com',
    name: 'Bench',
  });
  await browser.follow(back);
  const cookie = browser.cookies(`${issuer}/`).find((c) => c.name === '_gateway_auth');
  if (!cookie) throw new Error('no forward-auth cookie after sign-in');

  const meta = confidentialClient('bench-app', { resources: [issuer] });
  const app = await discoverApp(issuer, meta);
  const authorization = await startAuthorization(app, { resource: issuer });
  const { callback } = await authorizeInBrowser(browser, app, authorization, google, undefined);
  if (!callback) throw new Error('API sign-in did not return a code');
  const tokens = await redeem(app, authorization, callback);
  return {
    cookie: `_gateway_auth=${cookie.value}`,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token ?? '',
    app,
    browser,
    /** More refresh tokens for the same user: one single-sign-on code flow each. */
    async moreRefreshTokens(count: number): Promise<string[]> {
      const out: string[] = [];
      for (let i = 0; i < count; i += 1) {
        const start = await startAuthorization(app);
        const result = await authorizeInBrowser(browser, app, start, google, undefined);
        if (!result.callback) throw new Error('SSO sign-in did not return a code');
        out.push((await redeem(app, start, result.callback)).refresh_token ?? '');
      }
      return out;
    },
  };
}

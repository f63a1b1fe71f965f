/**
 * The set-up of the README's several-upstreams section, end to end: one gateway, staff at a
 * Google Workspace and contractors at GitHub, both signing into the same apps behind the shipped
 * nginx config, each under their own rules. Contractors must belong to the GitHub organization
 * (`allowed_orgs`); a staff-only host admits only sessions through the staff upstream
 * (`GATEWAY_HOST_RULES` `allowed_upstreams`), whatever the contractor's e-mail says. The same
 * gateway also offers Microsoft, GitLab, Kakao and Naver: each signs a user in through nginx.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createBrowser, loopbackDispatcher, type Browser } from './helpers/browser.ts';
import { startEchoApp } from './helpers/echo-app.ts';
import { type FakeGitHub, type GitHubUser, startFakeGitHub } from './helpers/fake-github.ts';
import { type FakeGitLab, startFakeGitLab } from './helpers/fake-gitlab.ts';
import { type FakeGoogle, signInAtFakeGoogle, startFakeGoogle } from './helpers/fake-google.ts';
import { type FakeKakao, startFakeKakao } from './helpers/fake-kakao.ts';
import { type FakeMicrosoft, startFakeMicrosoft } from './helpers/fake-microsoft.ts';
import { type FakeNaver, startFakeNaver } from './helpers/fake-naver.ts';
import { shippedNginxConfig, startNginx, type RunningNginx } from './helpers/nginx.ts';
import { freePort, startGateway, type StartedGateway } from './helpers/start-gateway.ts';

const TENANT = '4f1c7d0e-2b5a-4c8e-9d3f-0a6b8c2e4d71';

interface Echo {
  headers: Record<string, string>;
}

describe('staff at Google and contractors at GitHub, behind nginx, with one gateway', () => {
  let gw: StartedGateway;
  let google: FakeGoogle;
  let github: FakeGitHub;
  let microsoft: FakeMicrosoft;
  let gitlab: FakeGitLab;
  let kakao: FakeKakao;
  let naver: FakeNaver;
  let nginx: RunningNginx;
  let app: Awaited<ReturnType<typeof startEchoApp>>;
  let port: number;
  const dispatcher = loopbackDispatcher();
  const APP = () => `http://app.team.test:${port}`;
  const STAFF_ONLY = () => `http://payroll.team.test:${port}`;

  before(async () => {
    port = await freePort();
    const gatewayPort = await freePort();
    const issuer = `http://127.0.0.1:${gatewayPort}`;
    google = await startFakeGoogle({
      clients: [
        { client_id: 'staff', client_secret: 'staff-secret', redirect_uris: [`${issuer}/upstream/staff/callback`] },
      ],
    });
    github = await startFakeGitHub({
      client: {
        id: 'contractors',
        secret: 'contractors-secret',
        redirectUri: `${issuer}/upstream/contractors/callback`,
      },
    });
    const registration = (id: string) => ({
      id,
      secret: `${id}-secret`,
      redirectUri: `${issuer}/upstream/${id}/callback`,
    });
    microsoft = await startFakeMicrosoft({ client: registration('entra') });
    gitlab = await startFakeGitLab({ client: registration('gitlab') });
    kakao = await startFakeKakao({ client: registration('kakao') });
    naver = await startFakeNaver({ client: registration('naver') });
    const secretOf = (id: string) => ({ client_id: id, client_secret: `${id}-secret` });
    gw = await startGateway({
      port: gatewayPort,
      env: {
        UPSTREAM_CLIENT_ID: '',
        UPSTREAM_CLIENT_SECRET: '',
        GATEWAY_UPSTREAMS: JSON.stringify([
          {
            id: 'staff',
            type: 'google',
            name: 'Staff (Google)',
            issuer: google.issuer,
            client_id: 'staff',
            client_secret: 'staff-secret',
            hosted_domains: ['team.test'],
          },
          {
            id: 'contractors',
            type: 'github',
            name: 'Contractors (GitHub)',
            base_url: github.url,
            client_id: 'contractors',
            client_secret: 'contractors-secret',
            allowed_orgs: ['acme-contractors'],
            // Their organizations and teams reach the apps as groups (`contractors:<org>[:<team>]`).
            groups: true,
          },
          {
            id: 'entra',
            type: 'microsoft',
            tenant: TENANT,
            base_url: microsoft.authority,
            graph_url: microsoft.graphUrl,
            ...secretOf('entra'),
          },
          { id: 'gitlab', type: 'gitlab', issuer: gitlab.issuer, ...secretOf('gitlab') },
          { id: 'kakao', type: 'kakao', issuer: kakao.issuer, ...secretOf('kakao') },
          { id: 'naver', type: 'naver', base_url: naver.nidUrl, api_url: naver.apiUrl, ...secretOf('naver') },
        ]),
        GATEWAY_COOKIE_DOMAINS: '.team.test',
        GATEWAY_REDIRECT_DOMAINS: `.team.test:${port}`,
        GATEWAY_HOST_RULES: JSON.stringify([
          { host: 'payroll.team.test', allowed_email_domains: ['team.test'], allowed_upstreams: ['staff'] },
        ]),
      },
    });
    app = await startEchoApp();
    const { conf, files } = shippedNginxConfig({
      listenPort: port,
      gatewayPort: String(gatewayPort),
      appPort: app.port,
      serverNames: 'app.team.test payroll.team.test',
    });
    nginx = await startNginx(port, conf, files);
  });
  after(async () => {
    await nginx?.stop();
    await app?.close();
    await gw?.close();
    await google?.close();
    await github?.close();
    for (const fake of [microsoft, gitlab, kakao, naver]) await fake?.close();
    await dispatcher.close();
  });

  /** Opens `url`; on the gateway's sign-in page, picks `upstream` and signs in there. */
  async function visit(browser: Browser, url: string, upstream: string, email: string) {
    let hop = await browser.follow(url, (next) => next.pathname.startsWith('/interaction/'));
    if (hop.location) {
      const chooser = await browser.fetch(hop.location.href);
      const html = await chooser.text();
      const link = new RegExp(`href="(/interaction/[^"]+/upstream/${upstream})"`).exec(html)?.[1];
      assert.ok(link, `the sign-in page offers ${upstream}`);
      hop = await browser.follow(new URL(link, gw.issuer).href, (next) => next.href.startsWith(google.issuer));
      if (hop.location) {
        const back = await signInAtFakeGoogle(hop.location.href, (u, init) => browser.fetch(u, init), {
          email,
          hd: 'team.test',
        });
        hop = await browser.follow(back);
      }
    }
    return hop.response;
  }

  const contractor: GitHubUser = {
    id: 81_001,
    login: 'carol-contractor',
    name: 'Carol',
    // An address at the staff domain: it must not open the staff-only host.
    emails: [{ email: 'carol@team.test', primary: true, verified: true }],
    orgs: ['acme-contractors'],
    teams: ['acme-contractors:infra'],
  };

  it('admits staff to every app and contractors to the shared one only', async () => {
    const staff = createBrowser({ dispatcher });
    const atApp = await visit(staff, `${APP()}/home`, 'staff', 'sam@team.test');
    assert.equal(atApp.status, 200);
    assert.equal(((await atApp.json()) as Echo).headers['x-auth-request-email'], 'sam@team.test');
    const payroll = await staff.fetch(`${STAFF_ONLY()}/`);
    assert.equal(payroll.status, 200, 'staff pass the staff-only host (one sign-in, both hosts)');

    github.signInAs(contractor);
    const carol = createBrowser({ dispatcher });
    const shared = await visit(carol, `${APP()}/home`, 'contractors', '');
    assert.equal(shared.status, 200);
    const echo = (await shared.json()) as Echo;
    assert.equal(echo.headers['x-auth-request-email'], 'carol@team.test');
    assert.equal(
      echo.headers['x-auth-request-groups'],
      'contractors:acme-contractors,contractors:acme-contractors:infra',
      'GitHub organizations and teams as groups, named after their upstream',
    );
    const refused = await carol.fetch(`${STAFF_ONLY()}/`, { headers: { accept: 'application/json' } });
    assert.equal(refused.status, 403, 'a contractor session is refused at the staff-only host');
  });

  it('refuses a GitHub user outside the organization at sign-in, saying why', async () => {
    github.signInAs({ ...contractor, id: 81_002, login: 'stranger', orgs: [] });
    const page = await visit(createBrowser({ dispatcher }), `${APP()}/home`, 'contractors', '');
    assert.equal(page.status, 403);
    assert.match(await page.text(), /not a member of an organisation allowed/);
  });

  it('signs users of Microsoft, GitLab, Kakao and Naver in through nginx as well', async () => {
    microsoft.signInAs({
      oid: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
      tid: TENANT,
      name: 'Mia',
      preferred_username: 'mia@corp.example',
      email: 'mia@corp.example',
    });
    gitlab.signInAs({
      id: 77,
      username: 'gil',
      name: 'Gil',
      email: 'gil@corp.example',
      emailVerified: true,
      groups: ['acme/platform'],
    });
    kakao.signInAs({
      id: 123_456_789,
      nickname: '카카',
      email: 'kaka@kakao.example',
      emailVerified: true,
      agreedToEmail: true,
    });
    naver.signInAs({ id: 'nv-42', email: 'nana@naver.com', name: '나나' });
    for (const [upstream, email] of [
      ['entra', 'mia@corp.example'],
      ['gitlab', 'gil@corp.example'],
      ['kakao', 'kaka@kakao.example'],
      ['naver', 'nana@naver.com'],
    ] as const) {
      const browser = createBrowser({ dispatcher });
      const page = await visit(browser, `${APP()}/home`, upstream, '');
      assert.equal(page.status, 200, `${upstream}: back at the app`);
      const headers = ((await page.json()) as Echo).headers;
      assert.equal(headers['x-auth-request-email'], email, upstream);
      // GitLab's `groups` claim is a group source by default.
      assert.equal(
        headers['x-auth-request-groups'],
        upstream === 'gitlab' ? 'gitlab:acme/platform' : undefined,
        upstream,
      );
      const refused = await browser.fetch(`${STAFF_ONLY()}/`, { headers: { accept: 'application/json' } });
      assert.equal(refused.status, 403, `${upstream}: not at the staff-only host`);
    }
  });
});

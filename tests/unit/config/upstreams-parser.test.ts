import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatConfigCheck } from '../../../config/format-config-check.ts';
import { loadConfig } from '../../../config/load-config.ts';
import { MICROSOFT_CONSUMERS_TENANT, parseUpstreams } from '../../../config/upstreams-parser.ts';

const staff = {
  id: 'staff',
  type: 'google',
  name: 'Staff',
  client_id: 'staff-client',
  client_secret: 'staff-secret',
  hosted_domains: ['Example.com'],
};
const partners = {
  id: 'partners',
  type: 'oidc',
  issuer: 'https://login.partner.example',
  client_id: 'p-client',
  client_secret: 'p-secret',
  scopes: 'openid email',
  allowed_email_domains: ['Partner.example'],
};

const problemOf = (raw: Parameters<typeof parseUpstreams>[0]) => {
  const parsed = parseUpstreams(raw);
  assert.ok('problem' in parsed, `expected a problem for ${JSON.stringify(raw)}`);
  return parsed.problem;
};

describe('GATEWAY_UPSTREAMS', () => {
  it('reads a JSON list, a YAML list, or the config file list, into the same upstreams', () => {
    const yaml = `- id: staff
  type: google
  name: Staff
  client_id: staff-client
  client_secret: staff-secret
  hosted_domains: [Example.com]
- id: partners
  type: oidc
  issuer: https://login.partner.example
  client_id: p-client
  client_secret: p-secret
  scopes: openid email
  allowed_email_domains: [Partner.example]
`;
    const fromJson = parseUpstreams(JSON.stringify([staff, partners]));
    assert.deepEqual(parseUpstreams(yaml), fromJson);
    assert.deepEqual(parseUpstreams([staff, partners]), fromJson);
    assert.ok('value' in fromJson);
    const [google, oidc] = fromJson.value;
    assert.deepEqual(google, {
      id: 'staff',
      type: 'google',
      name: 'Staff',
      issuer: 'https://accounts.google.com',
      clientId: 'staff-client',
      clientSecret: 'staff-secret',
      scopes: ['openid', 'email', 'profile'],
      hostedDomains: ['example.com'],
      allowedEmailDomains: [],
      callbackPath: '/upstream/staff/callback',
    });
    assert.equal(oidc?.name, 'partners', 'the id when no name is given');
    assert.deepEqual(oidc?.scopes, ['openid', 'email']);
    assert.deepEqual(oidc?.allowedEmailDomains, ['partner.example']);
    assert.equal(oidc?.callbackPath, '/upstream/partners/callback');
  });

  it('refuses what would be a silent mistake, saying which entry and why', () => {
    assert.match(problemOf('[]'), /at least one upstream/);
    assert.match(problemOf('not: [a list'), /JSON or YAML/);
    assert.match(problemOf([{ ...staff, client_secret: undefined }]), /client_secret/);
    assert.match(problemOf([{ ...staff, clientid: 'typo' }]), /clientid/);
    assert.match(problemOf([{ ...staff, id: 'Staff Login' }]), /slug/);
    assert.match(problemOf([staff, { ...partners, id: 'staff' }]), /id staff is used twice/);
    assert.match(
      problemOf([{ ...partners, issuer: undefined }]),
      /entry 1 \(partners\): an oidc upstream needs its issuer/,
    );
    assert.match(problemOf([{ ...partners, issuer: 'http://login.partner.example' }]), /entry 1 \(partners\): issuer/);
    // A setting of another type is refused, never ignored (it would admit whom it meant to keep out).
    assert.match(
      problemOf([{ ...partners, hosted_domains: ['example.com'] }]),
      /hosted_domains is not a setting of a oidc upstream \(only of google\)/,
    );
    assert.match(
      problemOf([{ ...partners, allowed_orgs: ['acme'] }]),
      /allowed_orgs is not a setting of a oidc upstream \(only of github\)/,
    );
    assert.match(problemOf([{ ...partners, scopes: ['email'] }]), /must include openid/);
    assert.match(
      problemOf([{ ...staff, nested_groups: true }]),
      /nested_groups reads the Directory API: it takes groups: true/,
    );
    assert.match(
      problemOf([{ ...partners, nested_groups: true }]),
      /nested_groups is not a setting of a oidc upstream \(only of google\)/,
    );
    assert.match(
      problemOf([{ ...partners, type: 'saml' }]),
      /type must be one of google, oidc, microsoft, gitlab, kakao, github, naver, not "saml"/,
    );
  });

  it('takes Microsoft by tenant, and never admits any tenant without a list', () => {
    const ms = { id: 'entra', type: 'microsoft', client_id: 'c', client_secret: 's' };
    const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const single = parseUpstreams([{ ...ms, tenant: tenant.toUpperCase() }]);
    assert.ok('value' in single);
    assert.deepEqual(
      [single.value[0]?.name, single.value[0]?.issuer, single.value[0]?.tenant, single.value[0]?.allowedTenants],
      ['Microsoft', 'https://login.microsoftonline.com', tenant, [tenant]],
    );
    assert.deepEqual(single.value[0]?.scopes, ['openid', 'email', 'profile', 'offline_access', 'User.Read']);
    assert.match(
      problemOf([ms]),
      /tenant organizations admits any Microsoft tenant: list the tenants .* allowed_tenants/,
    );
    assert.match(problemOf([{ ...ms, tenant: 'common' }]), /tenant common admits any/);
    assert.match(problemOf([{ ...ms, tenant: 'contoso.onmicrosoft.com' }]), /tenant must be a tenant id \(GUID\)/);
    assert.match(problemOf([{ ...ms, allowed_tenants: ['contoso'] }]), /allowed_tenants takes tenant ids/);
    assert.match(problemOf([{ ...ms, tenant, allowed_tenants: [MICROSOFT_CONSUMERS_TENANT] }]), /single-tenant/);
    const consumers = parseUpstreams([{ ...ms, tenant: 'consumers' }]);
    assert.ok('value' in consumers);
    assert.deepEqual(consumers.value[0]?.allowedTenants, [MICROSOFT_CONSUMERS_TENANT]);
    const cloud = parseUpstreams([
      {
        ...ms,
        allowed_tenants: [tenant],
        base_url: 'https://login.microsoftonline.us',
        graph_url: 'https://graph.microsoft.us',
      },
    ]);
    assert.ok('value' in cloud);
    assert.deepEqual(
      [cloud.value[0]?.issuer, cloud.value[0]?.apiUrl],
      ['https://login.microsoftonline.us', 'https://graph.microsoft.us'],
    );
    assert.match(
      problemOf([{ ...ms, tenant, issuer: 'https://login.microsoftonline.com/x/v2.0' }]),
      /issuer is not a setting of a microsoft upstream/,
    );
  });

  it('knows where GitLab, Kakao and Naver live, and what each takes', () => {
    const base = { client_id: 'c', client_secret: 's' };
    const parsed = parseUpstreams([
      { ...base, id: 'gl', type: 'gitlab', allowed_groups: ['Acme/Platform'] },
      { ...base, id: 'gl-self', type: 'gitlab', issuer: 'https://git.corp.example' },
      { ...base, id: 'kakao', type: 'kakao' },
      { ...base, id: 'naver', type: 'naver' },
    ]);
    assert.ok('value' in parsed);
    assert.deepEqual(
      parsed.value.map((u) => [u.name, u.issuer, u.scopes.join(' '), u.allowedGroups, u.apiUrl]),
      [
        ['GitLab', 'https://gitlab.com', 'openid email profile', ['acme/platform'], undefined],
        ['GitLab', 'https://git.corp.example', 'openid email profile', undefined, undefined],
        [
          'Kakao',
          'https://kauth.kakao.com',
          'openid profile_nickname profile_image account_email',
          undefined,
          undefined,
        ],
        ['NAVER', 'https://nid.naver.com', '', undefined, undefined],
      ],
    );
    assert.match(
      problemOf([{ ...base, id: 'n', type: 'naver', issuer: 'https://nid.naver.com' }]),
      /issuer is not a setting of a naver upstream/,
    );
    assert.match(problemOf([{ ...base, id: 'n', type: 'naver', api_url: 'ftp://x' }]), /api_url must be an https/);
  });

  it('takes GitHub by its web origin (github.com, or an Enterprise Server), without OpenID scopes', () => {
    const github = { id: 'gh', type: 'github', client_id: 'c', client_secret: 's' };
    const parsed = parseUpstreams([github, { ...github, id: 'ghe', base_url: 'https://git.corp.example' }]);
    assert.ok('value' in parsed);
    assert.deepEqual(
      parsed.value.map((u) => [u.name, u.issuer, u.scopes, u.callbackPath]),
      [
        ['GitHub', 'https://github.com', ['read:user', 'user:email'], '/upstream/gh/callback'],
        ['GitHub', 'https://git.corp.example', ['read:user', 'user:email'], '/upstream/ghe/callback'],
      ],
    );
    assert.match(
      problemOf([{ ...github, issuer: 'https://github.com' }]),
      /issuer is not a setting of a github upstream/,
    );
    assert.match(problemOf([{ ...github, base_url: 'http://git.corp.example' }]), /base_url must be an https/);
    assert.match(
      problemOf([{ ...partners, base_url: 'https://github.com' }]),
      /base_url is not a setting of a oidc upstream/,
    );
    // allowed_orgs asks for read:org (private memberships are listed only with it).
    const orgs = parseUpstreams([{ ...github, allowed_orgs: ['Acme'] }]);
    assert.ok('value' in orgs);
    assert.deepEqual(
      [orgs.value[0]?.allowedOrgs, orgs.value[0]?.scopes],
      [['acme'], ['read:user', 'user:email', 'read:org']],
    );
  });

  it('replaces the UPSTREAM_* client, which may not be given with it, and satisfies production', () => {
    const both = loadConfig({
      GATEWAY_UPSTREAMS: JSON.stringify([staff]),
      UPSTREAM_CLIENT_ID: 'x',
      UPSTREAM_CLIENT_SECRET: 'y',
    });
    assert.ok(!both.ok);
    assert.ok(both.problems.some((p) => p.startsWith('UPSTREAM_CLIENT_ID: not with GATEWAY_UPSTREAMS')));

    const production = loadConfig({
      NODE_ENV: 'production',
      GATEWAY_ISSUER: 'https://login.example.com',
      GATEWAY_SECRETS: 'n5Kq3vJm8XcR2tLw9ZpB7hYd4FgS6aUe1Mo0Ni',
      GATEWAY_UPSTREAMS: JSON.stringify([staff, partners]),
    });
    assert.ok(production.ok, production.ok ? '' : production.problems.join('\n'));
    assert.equal(production.config.devMode, false);
    assert.deepEqual(
      production.config.upstreams.map((u) => u.id),
      ['staff', 'partners'],
    );
    // `config check` names each redirect URI to register at its upstream.
    const { output } = formatConfigCheck(production);
    assert.match(
      output,
      /staff \(google, https:\/\/accounts\.google\.com\).*https:\/\/login\.example\.com\/upstream\/staff\/callback/,
    );
    assert.match(output, /partners \(oidc, https:\/\/login\.partner\.example\).*\/upstream\/partners\/callback/);
  });

  it('says every broken entry at once, and refuses what no user could pass or what would be one upstream twice', () => {
    const all = problemOf([
      { ...staff, id: 'one', hosted_domains: ['@example.com'] },
      { ...partners, id: 'two', allowed_email_domains: ['*.partner.example'] },
      { id: 'gh', type: 'github', client_id: 'c', client_secret: 's', allowed_orgs: ['Acme Corp'] },
    ]);
    assert.match(all, /entry 1 \(one\): hosted_domains takes domains \(corp\.example\), not "@example\.com"/);
    assert.match(all, /entry 2 \(two\): allowed_email_domains takes domains/);
    assert.match(all, /entry 3 \(gh\): allowed_orgs takes organization logins/);
    assert.match(
      problemOf([
        { id: 'gh', type: 'github', client_id: 'c', client_secret: 's', scopes: 'read:user', allowed_orgs: ['acme'] },
      ]),
      /allowed_orgs needs the read:org scope/,
    );
    assert.match(
      problemOf([staff, { ...staff, id: 'staff-again' }]),
      /the same issuer and client_id as staff: one upstream/,
    );
    // Two clients at one issuer are two upstreams (say, two Google Workspaces): fine.
    assert.ok('value' in parseUpstreams([staff, { ...staff, id: 'guests', client_id: 'other-client' }]));
    assert.match(
      problemOf([
        {
          id: 'ms',
          type: 'microsoft',
          tenant: 'consumers',
          allowed_tenants: ['72f988bf-86f1-41af-91ab-2d7cd011db47'],
          client_id: 'c',
          client_secret: 's',
        },
      ]),
      /consumers admits personal accounts only/,
    );
  });

  it('says every shape problem too, not only the first', () => {
    const problem = problemOf([
      { ...staff, id: 'Bad Id' },
      { ...partners, client_id: 42 },
    ]);
    assert.match(problem, /slug.* at 0\.id/);
    assert.match(problem, / at 1\.client_id/);
  });

  it('never echoes the list in a problem line: it holds client secrets', () => {
    const secret = 'SUPERSECRET-0123456789abcdef';
    for (const value of [
      JSON.stringify([
        { ...staff, client_secret: secret },
        { ...staff, client_secret: secret },
      ]),
      `- id: x\n  type: nope\n  client_id: a\n  client_secret: ${secret}\n`,
      `[{"client_secret": "${secret}", "id": "Bad Id"}]`,
    ]) {
      const loaded = loadConfig({ GATEWAY_UPSTREAMS: value });
      assert.ok(!loaded.ok);
      assert.ok(!loaded.problems.join('\n').includes(secret), loaded.problems.join('\n'));
    }
  });

  it("checks that a host rule's allowed_upstreams names configured upstreams (a typo would shut everyone out)", () => {
    const rules = (ids: string[]) => JSON.stringify([{ host: 'payroll.example.com', allowed_upstreams: ids }]);
    const ok = loadConfig({
      GATEWAY_UPSTREAMS: JSON.stringify([staff, partners]),
      GATEWAY_HOST_RULES: rules(['staff']),
    });
    assert.ok(ok.ok, ok.ok ? '' : ok.problems.join('\n'));
    const typo = loadConfig({
      GATEWAY_UPSTREAMS: JSON.stringify([staff, partners]),
      GATEWAY_HOST_RULES: rules(['stafff']),
    });
    assert.ok(!typo.ok);
    assert.ok(
      typo.problems.some((p) =>
        p.includes(
          'rule 1 (payroll.example.com): allowed_upstreams names no configured upstream: stafff (configured: staff, partners)',
        ),
      ),
      typo.problems.join('\n'),
    );
    const shorthand = loadConfig({
      UPSTREAM_CLIENT_ID: 'a',
      UPSTREAM_CLIENT_SECRET: 'b',
      GATEWAY_HOST_RULES: rules(['google']),
    });
    assert.ok(shorthand.ok, 'the shorthand upstream is `google`');
    assert.ok(
      !loadConfig({ GATEWAY_HOST_RULES: JSON.stringify([{ host: 'x.example.com', allowed_upstreams: [] }]) }).ok,
    );
  });

  it('keeps the UPSTREAM_* shorthand: one upstream, google or oidc by issuer, on /upstream/callback', () => {
    const google = loadConfig({ UPSTREAM_CLIENT_ID: 'a', UPSTREAM_CLIENT_SECRET: 'b' });
    assert.ok(google.ok);
    assert.deepEqual(
      google.config.upstreams.map((u) => [u.id, u.type, u.callbackPath]),
      [['google', 'google', '/upstream/callback']],
    );
    const other = loadConfig({
      UPSTREAM_ISSUER: 'https://idp.example.org',
      UPSTREAM_CLIENT_ID: 'a',
      UPSTREAM_CLIENT_SECRET: 'b',
    });
    assert.ok(other.ok);
    assert.deepEqual(
      other.config.upstreams.map((u) => [u.id, u.type, u.name]),
      [['oidc', 'oidc', 'idp.example.org']],
    );
    const dev = loadConfig({});
    assert.ok(dev.ok);
    assert.deepEqual(dev.config.upstreams, []);
    assert.equal(dev.config.devMode, true);
  });
});

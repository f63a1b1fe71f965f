import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatConfigCheck } from '../../../config/format-config-check.ts';
import { loadConfig } from '../../../config/load-config.ts';
import { parseUpstreams } from '../../../config/upstreams-parser.ts';

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
    assert.match(problemOf([{ ...partners, hosted_domains: ['example.com'] }]), /only a google upstream/);
    assert.match(problemOf([{ ...partners, scopes: ['email'] }]), /must include openid/);
    assert.match(problemOf([{ ...partners, type: 'saml' }]), /type must be google, oidc or github/);
    // Types of the issue that are not built yet are never taken for a generic OpenID Provider.
    for (const type of ['microsoft', 'gitlab', 'kakao', 'naver'])
      assert.match(problemOf([{ ...partners, type }]), new RegExp(`type ${type} is not supported yet`));
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
    assert.match(problemOf([{ ...github, issuer: 'https://github.com' }]), /GitHub has no OpenID issuer/);
    assert.match(problemOf([{ ...github, base_url: 'http://git.corp.example' }]), /base_url must be an https/);
    assert.match(problemOf([{ ...partners, base_url: 'https://github.com' }]), /base_url is for a github upstream/);
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

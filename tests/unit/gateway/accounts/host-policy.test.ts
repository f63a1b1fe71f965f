import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHostPolicy, groupsOf, type Identity } from '../../../../gateway/accounts/host-policy.ts';

describe('host policy (GATEWAY_HOST_RULES)', () => {
  const policy = createHostPolicy([
    { host: '.example.com', allowed_email_domains: ['example.com'] },
    { host: 'admin.example.com', allowed_groups: ['ops'] },
    { host: 'ceo.example.com', allowed_emails: ['Boss@Example.com'] },
  ]);

  it('admits everyone signed in on a host without a rule', () => {
    assert.ok(policy.allows('other.test', {}));
  });

  it('applies the most specific rule: an exact host beats a suffix', () => {
    assert.ok(policy.allows('wiki.example.com', { email: 'ada@example.com' }));
    assert.ok(!policy.allows('wiki.example.com', { email: 'ada@gmail.com' }));
    assert.ok(
      !policy.allows('admin.example.com', { email: 'ada@example.com' }),
      'the domain rule does not apply there',
    );
    assert.ok(policy.allows('admin.example.com', { email: 'ada@gmail.com', groups: ['ops'] }));
  });

  it('compares e-mail addresses without regard to case', () => {
    assert.ok(policy.allows('ceo.example.com', { email: 'boss@example.COM' }));
    assert.ok(!policy.allows('ceo.example.com', { email: 'boss2@example.com' }));
  });

  it('finds the groups of an e-mail address, case-insensitively', () => {
    const groups = { ops: ['Ada@Example.com'], dev: ['ada@example.com', 'bob@example.com'], none: [] };
    assert.deepEqual(groupsOf('ada@example.com', groups), ['ops', 'dev']);
    assert.deepEqual(groupsOf(undefined, groups), []);
  });
});

describe('access rules per path and method, public paths and trusted networks', () => {
  const policy = createHostPolicy([
    { host: 'app.example.com', allowed_email_domains: ['example.com'] },
    { host: 'app.example.com', path: '/flower', allowed_groups: ['ops'] },
    { host: 'app.example.com', path: '/static', allow: 'public' },
    { host: 'app.example.com', path: '/static/private', allowed_groups: ['ops'] },
    { host: 'app.example.com', path: '/hooks', trusted_networks: ['10.0.0.0/8', '2001:db8::/32'] },
    { host: 'app.example.com', path: '/api', methods: ['POST', 'DELETE'], allowed_groups: ['writers'] },
    { host: '.example.com', path: '/admin', allowed_groups: ['staff'] },
  ]);
  const at = (uri: string, method = 'GET', ip = '192.0.2.1') =>
    policy.decide({ host: 'app.example.com', uri, method, ip });
  const admitted = (uri: string, identity: Identity, method = 'GET') => {
    const decision = at(uri, method);
    return decision.kind === 'open' || (decision.kind === 'signed-in' && decision.allows(identity));
  };
  const ada = { email: 'ada@example.com', groups: [] };
  const op = { email: 'op@example.com', groups: ['ops'] };

  it('lets the longest matching path decide, at segment boundaries', () => {
    assert.ok(admitted('/home', ada), 'the host rule');
    assert.ok(!admitted('/flower', ada) && admitted('/flower/tasks?x=1', op));
    assert.ok(admitted('/flowerpot', ada), '/flowerpot is not under /flower');
    assert.equal(at('/static/app.css').kind, 'open');
    assert.ok(!admitted('/static/private/key', ada) && admitted('/static/private/key', op));
    assert.ok(!admitted('/admin/users', ada), 'a longer path of a wider host beats the host root rule');
    assert.ok(admitted('/admin/users', { email: 'x@y.z', groups: ['staff'] }));
  });

  it('applies a method rule to its methods only, and refuses when the proxy does not say the method', () => {
    assert.ok(admitted('/api/items', ada, 'GET'), 'GET falls to the host rule');
    assert.ok(!admitted('/api/items', ada, 'POST'));
    assert.equal(at('/api/items', 'post').kind, 'refuse', 'methods are case-sensitive: no guess at `post`');
    assert.ok(admitted('/api/items', { email: 'w@x.y', groups: ['writers'] }, 'DELETE'));
    assert.equal(policy.decide({ host: 'app.example.com', uri: '/api', ip: '192.0.2.1' }).kind, 'refuse');
    assert.equal(policy.decide({ host: 'app.example.com', method: 'GET', ip: '192.0.2.1' }).kind, 'refuse');
    assert.equal(policy.decide({ host: 'other.test', ip: '192.0.2.1' }).kind, 'signed-in', 'no rule: no need to say');
  });

  it('opens a path to trusted networks only', () => {
    assert.equal(at('/hooks/github', 'POST', '10.1.2.3').kind, 'open');
    assert.equal(at('/hooks/github', 'POST', '2001:db8::7').kind, 'open');
    const outside = at('/hooks/github', 'POST', '192.0.2.1');
    assert.ok(outside.kind === 'signed-in' && !outside.allows(ada), 'from elsewhere: nobody (no lists)');
  });

  it('lets no spelling of a path reach a stricter path under a looser rule', () => {
    const strict = ['/flower', '/static/private/key', '/admin'];
    const spellings = (path: string) => [
      path.toUpperCase(),
      path.replace('/', '//'),
      path.replace('/', '/./'),
      `/static/..${path}`,
      `/static/%2e%2e${path}`,
      `/static%2f..${path}`,
      `/static/..%2f${path.slice(1)}`,
      `/static/..%252f${path.slice(1)}`,
      `/static\\..${path.replaceAll('/', '\\')}`,
      path.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`),
      path.replace(/[a-z]/, (c) => `%25${c.charCodeAt(0).toString(16)}`),
      `${path}%00`,
      `${path}%zz`,
      `${path};x=1`,
      `${path}/`,
    ];
    for (const path of strict) {
      for (const spelled of spellings(path)) {
        const decision = at(spelled);
        assert.notEqual(decision.kind, 'open', `${spelled} is not public`);
        // (refused outright when it cannot be read: a NUL, a broken escape)
        if (decision.kind === 'signed-in')
          assert.ok(!decision.allows(ada), `${spelled}: a plain example.com user is not admitted`);
      }
    }
    // And a public path spelled oddly is not public: it falls to the stricter host rule, or, with
    // a dot segment (which apps read two ways), is refused outright.
    for (const spelled of ['/static//app.css', '/%73tatic/app.css'])
      assert.equal(at(spelled).kind, 'signed-in', spelled);
    for (const spelled of ['/static/./app.css', '/static/x/../app.css'])
      assert.equal(at(spelled).kind, 'refuse', spelled);
  });

  it('refuses a dot segment in any spelling: apps route it under the stricter path or out of it', () => {
    for (const spelled of [
      '/flower/../home',
      '/flower/%2e%2e/home',
      '/flower/.%2e/home',
      '/flower/x/..%2f..%2fhome',
      '/flower/..;/home',
      '/flower/x\\..\\..\\home',
      '/flower/%252e%252e/home',
      '/flower/..',
      '/./flower',
    ])
      assert.equal(at(spelled).kind, 'refuse', spelled);
    assert.equal(
      policy.decide({ host: 'other.test', uri: '/a/../b', method: 'GET', ip: '' }).kind,
      'signed-in',
      'no path rules: not read',
    );
  });

  it('covers format suffixes under a rule that restricts, never under one that opens', () => {
    // Rails (`(.:format)`) and Spring route /flower.json to the /flower handler.
    for (const uri of ['/flower.json', '/flower.html/x', '/FLOWER.JSON?x=1']) {
      assert.ok(!admitted(uri, ada), uri);
      assert.ok(admitted(uri, op), uri);
    }
    assert.notEqual(at('/static.secret').kind, 'open', 'a public rule opens what it names, not /static.secret');
    assert.notEqual(at('/hooks.json', 'POST', '10.1.2.3').kind, 'open');
  });

  it('refuses what no single proxy header says: joined values, spaces, a fragment under a public rule', () => {
    // Two X-Original-Method headers a proxy appended (`DELETE,GET`): no method to match.
    assert.equal(at('/api/items', 'DELETE,GET').kind, 'refuse');
    assert.equal(at('/api/items', 'DELETE, GET').kind, 'refuse');
    // Two X-Original-URI headers joined (`/home, /flower`): unreadable, so refused.
    assert.equal(at('/static/x, /flower').kind, 'refuse');
    // `#` is never in a request target: a public rule does not let it through.
    const fragment = at('/static/x#/../../flower');
    assert.ok(fragment.kind === 'signed-in' && !fragment.allows({ email: 'nobody@else.test', groups: [] }));
  });

  it('admits a machine (client credentials) only where a rule names it, never as a user', () => {
    const machines = createHostPolicy([
      { host: 'app.example.com', allowed_email_domains: ['example.com'] },
      { host: 'app.example.com', path: '/internal', allowed_clients: ['report-worker'], api: true },
    ]);
    const decide = (host: string, uri: string) => machines.decide({ host, uri, method: 'GET', ip: '' });
    const worker = { client: 'report-worker' };
    const internal = decide('app.example.com', '/internal/jobs');
    assert.ok(internal.kind === 'signed-in' && internal.allows(worker));
    assert.ok(internal.kind === 'signed-in' && !internal.allows({ client: 'other-worker' }));
    assert.ok(
      internal.kind === 'signed-in' && !internal.allows({ email: 'ada@example.com' }),
      'a rule of machines only',
    );
    const home = decide('app.example.com', '/home');
    assert.ok(home.kind === 'signed-in' && !home.allows(worker), "a user's rule never admits a machine");
    const elsewhere = decide('other.example.com', '/');
    assert.ok(elsewhere.kind === 'signed-in' && !elsewhere.allows(worker), 'no rule: users only');
    assert.ok(elsewhere.kind === 'signed-in' && elsewhere.allows({ email: 'x@y.z' }));
  });

  it('lets a GET rule cover HEAD', () => {
    const getOnly = createHostPolicy([{ host: 'x.test', path: '/export', methods: ['GET'], allowed_groups: ['ops'] }]);
    const head = getOnly.decide({ host: 'x.test', uri: '/export', method: 'HEAD', ip: '' });
    assert.ok(head.kind === 'signed-in' && !head.allows({ email: 'a@x.test', groups: [] }));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGroups, parseHostRules } from '../../../config/forward-auth-parsers.ts';

/** The problem lines of a rule list (every problem of every rule), or undefined when it is valid. */
const problemsOf = (raw: string) => {
  const parsed = parseHostRules(raw);
  if ('problems' in parsed) return parsed.problems.join('\n');
  return 'problem' in parsed ? parsed.problem : undefined;
};

describe('forward-auth policy settings', () => {
  it('reads host rules from JSON text or natively from the file', () => {
    const rules = [
      { host: '.example.com', allowed_email_domains: ['example.com'] },
      { host: 'admin.example.com', allowed_groups: ['ops'] },
    ];
    assert.deepEqual(parseHostRules(JSON.stringify(rules)), { value: rules });
    assert.deepEqual(parseHostRules(rules as unknown as unknown[]), { value: rules });
  });

  it('refuses an unknown key, so a misspelt restriction never leaves a host open', () => {
    assert.equal(
      problemsOf('[{"host":"app.example.com","allowed_email":["a@example.com"]}]'),
      'rule 1 (app.example.com): unknown key allowed_email',
    );
  });

  it('refuses empty hosts, short addresses, wrong shapes, and says where', () => {
    for (const bad of [
      '[{"host":""}]',
      '[{}]',
      '[{"host":"a","allowed_emails":["x"]}]',
      '[{"host":"a","allowed_groups":[""]}]',
      '[{"host":"a","allowed_emails":"a@example.com"}]',
      '{"host":"a"}',
      'null',
      '"a"',
    ]) {
      assert.ok(problemsOf(bad), bad);
    }
    assert.match(problemsOf('[{"host":"a"},{"host":1}]') ?? '', /^rule 2: host: /);
  });

  it('never quotes the value it refuses (it may name people)', () => {
    const notJson = parseHostRules('[{host: "ada@example.com"}]');
    assert.ok('problem' in notJson);
    assert.equal(notJson.got, 'text that is not JSON');
    const invalid = parseGroups('{"ops":["x"]}');
    assert.ok('problem' in invalid);
    assert.equal(invalid.got, 'an invalid value');
    assert.ok(!invalid.problem.includes('"x"'));
  });

  it('reads groups as name → e-mail addresses, and refuses anything else', () => {
    assert.deepEqual(parseGroups('{"ops":["ada@example.com"],"empty":[]}'), {
      value: { ops: ['ada@example.com'], empty: [] },
    });
    for (const bad of ['[]', '{"":["ada@example.com"]}', '{"ops":"ada@example.com"}', '{"ops":[1]}', 'true']) {
      assert.ok('problem' in parseGroups(bad), bad);
    }
  });
});

describe('GATEWAY_HOST_RULES paths, methods, public paths and networks', () => {
  const problem = (rule: Record<string, unknown>) => problemsOf(JSON.stringify([{ host: 'app.example.com', ...rule }]));
  it('takes a path prefix, methods, allow public and trusted networks', () => {
    assert.equal(problem({ path: '/flower', methods: ['GET', 'post'], allowed_groups: ['ops'] }), undefined);
    assert.equal(problem({ path: '/static', allow: 'public' }), undefined);
    assert.equal(
      problem({ path: '/hooks', trusted_networks: ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32'] }),
      undefined,
    );
  });
  it('refuses what would be a silent mistake', () => {
    assert.match(problem({ path: 'flower' }) ?? '', /a path starting with \//);
    assert.match(problem({ path: '/with space' }) ?? '', /without spaces/);
    assert.match(problem({ methods: ['GET /'] }) ?? '', /an HTTP method/);
    assert.match(problem({ allow: 'everyone' }) ?? '', /allow/);
    assert.match(
      problem({ path: '/s', allow: 'public', allowed_groups: ['ops'] }) ?? '',
      /a public rule admits everyone/,
    );
    assert.match(problem({ trusted_networks: ['10.0.0.0/33'] }) ?? '', /an IP address or CIDR block/);
    assert.match(problem({ trusted_networks: ['example.com'] }) ?? '', /an IP address or CIDR block/);
    assert.match(problem({ trusted_networks: ['0.0.0.0/0'] }) ?? '', /use allow: public/);
    assert.match(problem({ trusted_networks: ['::/0'] }) ?? '', /use allow: public/);
  });

  it('refuses a rule path the check would read as another path (it would cover what it does not say)', () => {
    for (const path of [
      '/static/../assets',
      '/hooks/%zz',
      '/a%2Fb',
      '/a//b',
      '/a/./b',
      '/a\\b',
      '/admin;x=1',
      '/s?x',
      '/s#x',
      '//',
    ]) {
      assert.match(problem({ path, allow: 'public' }) ?? '', /a path in normal form/, path);
    }
    for (const path of ['/', '/static/', '/static/v1.2/app', '/Flower'])
      assert.equal(problem({ path, allow: 'public' }), undefined, path);
  });

  it('refuses hosts, addresses and domains that would match nothing or too much', () => {
    for (const host of ['*.example.com', 'app.example.com:8080', '.com', '.', 'https://app.example.com', '.co.uk']) {
      assert.match(problemsOf(JSON.stringify([{ host, allowed_groups: ['ops'] }])) ?? '', /host/, host);
    }
    assert.match(problem({ allowed_email_domains: ['@example.com'] }) ?? '', /a domain/);
    assert.match(problem({ allowed_email_domains: ['*.example.com'] }) ?? '', /a domain/);
    assert.match(problem({ allowed_emails: ['not-an-email'] }) ?? '', /an e-mail address/);
    assert.match(problem({ allowed_groups: [] }) ?? '', /allowed_groups/);
  });
});

describe('GATEWAY_GROUPS names', () => {
  it("refuses a name an upstream's group or the groups header could collide with", () => {
    for (const name of ['partners:admins', 'a,b', 'two words']) {
      const parsed = parseGroups(JSON.stringify({ [name]: ['x@example.com'] }));
      assert.ok('problem' in parsed, name);
    }
    assert.ok('value' in parseGroups(JSON.stringify({ 'ops-team': ['x@example.com'] })));
  });
});

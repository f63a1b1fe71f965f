import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHostPolicy, groupsOf } from '../../../../gateway/accounts/host-policy.ts';

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

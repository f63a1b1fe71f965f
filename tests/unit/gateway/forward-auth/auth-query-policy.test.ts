import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createQueryPolicies, parseQueryPolicy } from '../../../../gateway/forward-auth/auth-query-policy.ts';

describe("oauth2-proxy's query restrictions on /oauth2/auth", () => {
  const ada = { email: 'Ada@Example.com', groups: ['ops'] };
  const bob = { email: 'bob@other.test', groups: ['dev'] };

  it('admits everyone without a query', () => {
    const policy = parseQueryPolicy('');
    assert.ok(policy.ok && policy.allows({}));
  });

  it('requires every parameter given (AND), each met by one of its items (OR)', () => {
    const policy = parseQueryPolicy('allowed_groups=ops,admins&allowed_email_domains=example.com');
    assert.ok(policy.ok);
    assert.ok(policy.allows(ada));
    assert.ok(!policy.allows(bob));
    assert.ok(!policy.allows({ email: 'eve@example.com', groups: ['dev'] }), 'the domain alone is not enough');
  });

  it('compares e-mails and domains without case, groups exactly; `*` is any domain', () => {
    const emails = parseQueryPolicy('allowed_emails=ADA@example.com');
    assert.ok(emails.ok && emails.allows(ada));
    const groups = parseQueryPolicy('allowed_groups=OPS');
    assert.ok(groups.ok && !groups.allows(ada));
    const any = parseQueryPolicy('allowed_email_domains=*');
    assert.ok(any.ok && any.allows(bob) && !any.allows({}));
  });

  it('fails closed on an unknown, repeated or empty parameter, naming it', () => {
    for (const [query, named] of [
      ['allowed_group=ops', 'allowed_group'],
      ['allowed_groups=ops&allowed_groups=dev', 'more than once'],
      ['allowed_emails=,', 'empty'],
    ] as const) {
      const policy = parseQueryPolicy(query);
      assert.ok(!policy.ok, query);
      assert.match(policy.problem, new RegExp(named));
    }
  });

  it('reports a refusing query once while it is cached', () => {
    const problems: string[] = [];
    const policies = createQueryPolicies((problem) => problems.push(problem));
    policies('allowed_group=ops');
    policies('allowed_group=ops');
    assert.equal(problems.length, 1);
  });
});

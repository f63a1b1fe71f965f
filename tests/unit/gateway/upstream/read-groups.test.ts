import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readGroups } from '../../../../gateway/upstream/upstream-profile.ts';

describe('readGroups: what a group source gave, or that it failed (never a silent empty list)', () => {
  const warnings: string[] = [];
  const log = { warn: (_obj: object, msg: string) => warnings.push(msg) };
  const oidc = { config: { id: 'corp', type: 'oidc' as const, groupsClaim: 'groups', apiGroups: false } };

  it('reads the named claim, from userinfo before the ID token, keeping only names an app can split safely', async () => {
    const read = await readGroups(oidc, { groups: ['Ops', 'a,b', 'ops', ' x'] }, { groups: ['ignored'] }, 'a@b.c', log);
    assert.deepEqual(read, { groups: ['Ops', 'ops'], failed: false });
  });

  it("takes Entra's overage indicator (_claim_names) as a failed read, not as no groups", async () => {
    const overage = {
      _claim_names: { groups: 'src1' },
      _claim_sources: { src1: { endpoint: 'https://graph.microsoft.com/v1.0/users/x/getMemberObjects' } },
    };
    warnings.length = 0;
    assert.deepEqual(await readGroups(oidc, {}, overage, 'a@b.c', log), { groups: undefined, failed: true });
    assert.equal(warnings.length, 1);
    // Without the indicator, an absent claim is an empty list: the user is in no group.
    assert.deepEqual(await readGroups(oidc, {}, {}, 'a@b.c', log), { groups: [], failed: false });
  });

  it("takes an API client's groupsFailed, and a throwing Directory, as failed reads", async () => {
    const github = { config: { id: 'gh', type: 'github' as const, groupsClaim: undefined, apiGroups: true } };
    assert.deepEqual(
      await readGroups(github, { groupsFailed: 'GitHub /user/teams answered HTTP 502' }, undefined, 'a@b.c', log),
      {
        groups: undefined,
        failed: true,
      },
    );
    const directory = {
      config: { id: 'staff', type: 'google' as const, groupsClaim: undefined, apiGroups: true },
      groupSource: { groupsOf: () => Promise.reject(new Error('down')) },
    };
    assert.deepEqual(await readGroups(directory, {}, undefined, 'a@b.c', log), { groups: undefined, failed: true });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextPage } from '../../../../gateway/upstream/github-client.ts';

describe("GitHub's Link header (nextPage)", () => {
  const api = 'https://api.github.com';

  it('follows rel="next" among the other relations', () => {
    const link =
      '<https://api.github.com/user/teams?per_page=100&page=2>; rel="next", <https://api.github.com/user/teams?per_page=100&page=5>; rel="last"';
    assert.equal(nextPage(link, api), 'https://api.github.com/user/teams?per_page=100&page=2');
    assert.equal(
      nextPage(
        '<https://api.github.com/user/orgs?page=1>; rel="prev", <https://api.github.com/user/orgs?page=3>; rel=next',
        api,
      ),
      'https://api.github.com/user/orgs?page=3',
    );
  });

  it('stops on the last page, and never sends the token to another origin or outside the API', () => {
    assert.equal(nextPage(null, api), undefined);
    assert.equal(nextPage('<https://api.github.com/user/teams?page=1>; rel="first"', api), undefined);
    assert.equal(nextPage('<https://evil.example/user/teams?page=2>; rel="next"', api), undefined);
    assert.equal(nextPage('<http://api.github.com/user/teams?page=2>; rel="next"', api), undefined);
    const enterprise = 'https://github.acme.example/api/v3';
    assert.equal(nextPage('<https://github.acme.example/login/oauth?page=2>; rel="next"', enterprise), undefined);
    assert.equal(
      nextPage('<https://github.acme.example/api/v3/user/teams?page=2>; rel="next"', enterprise),
      'https://github.acme.example/api/v3/user/teams?page=2',
    );
    assert.equal(nextPage('<not a url at all>; rel="next"', 'not-a-base'), undefined);
  });
});

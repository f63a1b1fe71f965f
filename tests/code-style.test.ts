/**
 * The formatter and linter (Biome, configured once in biome.jsonc) pass over the whole codebase:
 * `npm test` fails on an unformatted file or a lint error, so style never comes up in review.
 * `npm run format` fixes the formatting; `npm run lint` shows the same report as this test.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

describe('code style', () => {
  it('is what Biome formats, with no lint finding', () => {
    const run = spawnSync(
      'node_modules/.bin/biome',
      ['check', '--error-on-warnings', '--reporter=summary', '--colors=off', '.'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(run.error, undefined, `could not run Biome (npm ci installs it): ${run.error?.message}`);
    assert.equal(
      run.status,
      0,
      `biome check found problems (npm run format fixes formatting):\n${run.stdout}${run.stderr}`,
    );
  });
});

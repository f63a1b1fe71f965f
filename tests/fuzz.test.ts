/**
 * Fuzzing, the short run of every `npm test` (the long one: `npm run fuzz -- --runs 100000`,
 * figures in docs/SECURITY.md). Every public endpoint of a federated gateway and of one in
 * development mode gets random and malformed requests (query strings, form and JSON bodies,
 * cookies, Authorization headers, JWTs in every broken shape, redirect URIs and `rd` values,
 * forwarded headers), and raw bytes no HTTP library would send. The property: never a 5xx, never a
 * hang, never a stack trace or a secret in a body, always a well-formed error
 * (tests/helpers/fuzz-harness.ts). A failure prints its seed: `FUZZ_SEED=<seed> npm test` replays it.
 */
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  endpointProperty,
  FuzzStats,
  fuzzSeed,
  rawProperty,
  startFuzzTargets,
  type FuzzTarget,
} from './helpers/fuzz-harness.ts';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 400);
const RAW_RUNS = Number(process.env['FUZZ_RAW_RUNS'] ?? 60);

describe('fuzzing every public endpoint', () => {
  let targets: FuzzTarget[] = [];
  const seed = fuzzSeed();

  before(async () => {
    targets = await startFuzzTargets();
  });
  after(async () => {
    for (const target of targets) await target.close();
  });

  for (const name of ['federated', 'development']) {
    it(`${name}: ${RUNS} random requests, each answered well (seed ${seed})`, async (t) => {
      const target = targets.find((candidate) => candidate.name === name);
      if (!target) throw new Error(`no ${name} target`);
      const stats = new FuzzStats();
      await fc.assert(endpointProperty(target, stats), { numRuns: RUNS, seed, endOnFailure: true });
      t.diagnostic(`${stats.total} requests: ${stats.summary()}`);
    });

    it(`${name}: ${RAW_RUNS} raw requests with bytes no client library sends (seed ${seed})`, async (t) => {
      const target = targets.find((candidate) => candidate.name === name);
      if (!target) throw new Error(`no ${name} target`);
      const stats = new FuzzStats();
      await fc.assert(rawProperty(target, stats), { numRuns: RAW_RUNS, seed, endOnFailure: true });
      t.diagnostic(`${stats.total} requests: ${stats.summary()}`);
    });
  }
});

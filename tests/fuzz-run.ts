/**
 * The long fuzz run: `npm run fuzz -- --runs 100000` (options: `--runs N` random requests per
 * target, `--raw-runs N` raw-byte requests per target (default runs / 10), `--seed N` to replay).
 * The same property as tests/fuzz.test.ts (tests/helpers/fuzz-harness.ts): never a 5xx, never a
 * hang, never a stack trace or a secret in a body, always a well-formed error; against a federated
 * gateway and one in development mode. Prints the figures that docs/SECURITY.md records; exits 1
 * with the counterexample and its seed on the first failure.
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import {
  endpointProperty,
  FuzzStats,
  fuzzSeed,
  rawProperty,
  startFuzzTargets,
  type FuzzTarget,
} from './helpers/fuzz-harness.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    'raw-runs': { type: 'string' },
    seed: { type: 'string' },
  },
});
const runs = Number(values.runs);
const rawRuns = Number(values['raw-runs'] ?? Math.ceil(runs / 10));
const seed = values.seed === undefined ? fuzzSeed() : Number(values.seed);
if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(rawRuns) || rawRuns < 0) {
  console.error('usage: npm run fuzz -- [--runs N] [--raw-runs N] [--seed N]');
  process.exit(2);
}

console.log(`fuzzing with seed ${seed}: ${runs} random and ${rawRuns} raw requests per target`);
const started = performance.now();
const targets: FuzzTarget[] = await startFuzzTargets();
let failed = false;
const lines: string[] = [];
try {
  for (const target of targets) {
    for (const [kind, count] of [
      ['random', runs],
      ['raw', rawRuns],
    ] as const) {
      if (count === 0) continue;
      const stats = new FuzzStats();
      const t0 = performance.now();
      const progress = setInterval(() => console.log(`  ${target.name} ${kind}: ${stats.total} / ${count}`), 15_000);
      const parameters = { numRuns: count, seed, endOnFailure: true };
      // The report is made here, where each property's own type is known.
      const report = (details: { failed: boolean }, message: () => string | undefined) => ({
        failed: details.failed,
        message,
      });
      const result =
        kind === 'random'
          ? await fc
              .check(endpointProperty(target, stats), parameters)
              .then((d) => report(d, () => fc.defaultReportMessage(d)))
          : await fc
              .check(rawProperty(target, stats), parameters)
              .then((d) => report(d, () => fc.defaultReportMessage(d)));
      clearInterval(progress);
      const seconds = ((performance.now() - t0) / 1000).toFixed(1);
      const line = `${target.name}, ${kind}: ${stats.total} requests in ${seconds} s, ${result.failed ? 'FAILED' : 'all answered well'} (${stats.summary()})`;
      console.log(line);
      lines.push(line);
      if (result.failed) {
        failed = true;
        console.error(result.message());
        break;
      }
    }
    if (failed) break;
  }
} finally {
  for (const target of targets) await target.close();
}
const total = ((performance.now() - started) / 1000).toFixed(0);
console.log(
  `\n${failed ? 'FAILED' : 'passed'}: seed ${seed}, ${total} s, Node ${process.version}\n${lines.map((l) => `- ${l}`).join('\n')}`,
);
process.exit(failed ? 1 : 0);

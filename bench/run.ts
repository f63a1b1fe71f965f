/**
 * `npm run bench`: each scenario against its limit, interleaved A B A B in one run, a table on
 * stdout and BENCHMARKS.md rewritten with the figures, the command and the machine.
 *
 *   npm run bench                      # 10 s per run, 2 rounds
 *   npm run bench -- --smoke           # 2 s per run, 1 round, BENCHMARKS.md untouched (CI)
 *   npm run bench -- --duration 20 --rounds 3
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { summarise, type Comparison } from './bench-kit.ts';
import { forwardAuthScenarios } from './scenarios/forward-auth.ts';

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    duration: { type: 'string' },
    rounds: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const duration = Number(values.duration ?? (values.smoke ? 2 : 10));
const rounds = Number(values.rounds ?? (values.smoke ? 1 : 2));
const write = !values.smoke && !values['no-write'];

const comparisons: Comparison[] = [];
comparisons.push(...(await forwardAuthScenarios({ duration, rounds })));

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const rows = comparisons.map((c) => {
  const a = summarise(c.a.runs);
  const b = summarise(c.b.runs);
  return {
    scenario: c.scenario,
    a: `${c.a.label}: ${fmt(a.rps)} req/s, p50 ${fmt(a.p50, 1)} ms, p99 ${fmt(a.p99, 1)} ms${a.non2xx + a.errors ? `, ${a.non2xx} non-2xx, ${a.errors} errors` : ''}`,
    b: `${c.b.label}: ${fmt(b.rps)} req/s, p50 ${fmt(b.p50, 1)} ms, p99 ${fmt(b.p99, 1)} ms`,
    ratio: `${fmt(a.rps / b.rps, 2)} (p99 ×${fmt(a.p99 / Math.max(b.p99, 1), 2)})`,
    goal: c.goal,
    met: c.met(a, b) ? 'met' : 'NOT met',
  };
});

for (const row of rows) {
  console.log(`\n${row.scenario}\n  A ${row.a}\n  B ${row.b}\n  ratio ${row.ratio}; goal ${row.goal}: ${row.met}`);
}

if (write) {
  const command = `npm run bench -- --duration ${duration} --rounds ${rounds}`;
  const table = rows.map((r) => `| ${r.scenario} | ${r.a} | ${r.b} | ${r.ratio} | ${r.goal} | ${r.met} |`).join('\n');
  writeFileSync(
    'BENCHMARKS.md',
    `# Benchmarks

Measured by \`${command}\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node.js ${process.version}.
Each scenario runs its two sides interleaved (A B A B …), ${duration} s per run, ${rounds} round(s), autocannon with 50
connections from the same machine; servers run in their own processes. Ratios are from this one run: the machine is
shared and noisy, so compare sides of one run, not figures across runs.

| scenario | A | B (the limit) | ratio A/B | goal | result |
| --- | --- | --- | --- | --- | --- |
${table}
`,
  );
  console.log('\nwrote BENCHMARKS.md');
}

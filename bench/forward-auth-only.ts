/**
 * `node bench/forward-auth-only.ts [--duration S] [--rounds N]`: scenarios 1, 1b and 3 of
 * `npm run bench` alone (the forward-auth check, with and without path rules, and with a Bearer
 * token), for a figure of the check without the half hour of the whole run. Prints the same
 * ratios; writes nothing.
 */
import { parseArgs } from 'node:util';
import { summarise } from './bench-kit.ts';
import { forwardAuthScenarios } from './scenarios/forward-auth.ts';

const { values } = parseArgs({ options: { duration: { type: 'string' }, rounds: { type: 'string' } } });
const comparisons = await forwardAuthScenarios({
  duration: Number(values.duration ?? 10),
  rounds: Number(values.rounds ?? 2),
});
for (const c of comparisons) {
  const a = summarise(c.a.runs);
  const b = summarise(c.b.runs);
  const bad = a.non2xx + a.errors + b.non2xx + b.errors;
  console.log(
    `${c.scenario}\n  ${c.a.label}: ${Math.round(a.rps)} req/s, p99 ${a.p99} ms\n  ${c.b.label}: ${Math.round(b.rps)} req/s, p99 ${b.p99} ms\n  ratio ${(a.rps / b.rps).toFixed(2)}; goal ${c.goal}: ${c.met(a, b) ? 'met' : 'NOT met'}${bad ? `; ${bad} failed` : ''}`,
  );
}
process.exit(0);

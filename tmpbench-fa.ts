import { forwardAuthScenarios } from './bench/scenarios/forward-auth.ts';
const rows = await forwardAuthScenarios({ duration: Number(process.env.D ?? 5), rounds: Number(process.env.R ?? 3) });
for (const row of rows) {
  const a = row.a.runs.map((r) => Math.round(r.rps)); const b = row.b.runs.map((r) => Math.round(r.rps));
  console.log(row.scenario, 'A', a.join(','), 'B', b.join(','));
}
process.exit(0);

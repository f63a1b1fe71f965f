/**
 * `npm run bench`: each scenario against its limit, interleaved A B A B in one run, a table on
 * stdout and BENCHMARKS.md rewritten with the figures, the command and the machine. The gateway
 * runs as shipped (start-bench-gateway.ts). Any connection error, and any answer other than the
 * 2xx a scenario expects, fails the run (exit code 1) after the table is printed (and written).
 *
 *   npm run bench                          # 10 s per run, 2 rounds, 10^6 stored sessions
 *   npm run bench -- --smoke               # 2 s per run, 1 round, 10^4 sessions; BENCHMARKS.md untouched (CI)
 *   npm run bench -- --duration 20 --rounds 3
 *   npm run bench -- --soak 600            # also: 10 minutes of mixed traffic, RSS sampled (bench/soak.ts)
 *   npm run bench -- --only refresh,machines   # some scenarios only; BENCHMARKS.md untouched
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { describeProblems, summarise, type Comparison, type LoadResult } from './bench-kit.ts';
import { gatewayLogs, START_COMMAND } from './start-bench-gateway.ts';
import { soak, SOAK_GROWTH_GOAL } from './soak.ts';
import { forwardAuthScenarios, type MemoryFigure } from './scenarios/forward-auth.ts';
import { nginxScenario } from './scenarios/nginx.ts';
import { refreshScenario } from './scenarios/refresh.ts';
import { ssoSignInScenario } from './scenarios/sso-sign-in.ts';
import { storedSessionsScenario } from './scenarios/stored-sessions.ts';
import { machineClientsScenario } from './scenarios/machine-clients.ts';
import { benchStoreAdapter, STORE_BACKENDS } from './store-adapter.ts';

/** The machine's 1-minute load average when the run started: others' work shares the cores. */
const loadAtStart = loadavg()[0] ?? 0;
const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    duration: { type: 'string' },
    rounds: { type: 'string' },
    soak: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
/** The scenarios --only may name, in the order they run. */
const SCENARIOS = ['forward-auth', 'nginx', 'refresh', 'sso', 'sessions', 'machines', 'adapter'] as const;
const only = values.only?.split(',').map((name) => name.trim());
const unknown = only?.filter((name) => !(SCENARIOS as readonly string[]).includes(name)) ?? [];
if (unknown.length > 0) {
  console.error(`--only: unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.join(', ')})`);
  process.exit(2);
}
const runs = (name: (typeof SCENARIOS)[number]) => !only || only.includes(name);
const duration = Number(values.duration ?? (values.smoke ? 2 : 10));
const rounds = Number(values.rounds ?? (values.smoke ? 1 : 2));
const large = values.smoke ? 10_000 : 1_000_000;
const write = !values.smoke && !values['no-write'] && !only;
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const describe = (label: string, r: LoadResult, unit = 'req/s') =>
  `${label}: ${fmt(r.rps)} ${unit}, p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms, ${r.non2xx} failed, ${r.errors} errors`;
/** Every run that had a failed answer or a connection error, said once each. */
const failures: string[] = [];
const check = (scenario: string, label: string, runs: LoadResult[]) => {
  const bad = runs.reduce((sum, r) => sum + r.non2xx + r.errors, 0);
  if (bad > 0) failures.push(`${scenario}, ${label}: ${describeProblems(runs) || `${bad} failed`}`);
};

interface Row {
  scenario: string;
  a: string;
  b: string;
  ratio: string;
  goal: string;
  met: boolean;
}
const rows: Row[] = [];
const compare = (c: Comparison, unit = 'req/s') => {
  const a = summarise(c.a.runs);
  const b = summarise(c.b.runs);
  check(c.scenario, c.a.label, c.a.runs);
  check(c.scenario, c.b.label, c.b.runs);
  const row = {
    scenario: c.scenario,
    a: describe(c.a.label, a, unit),
    b: describe(c.b.label, b, unit),
    ratio: `${fmt(a.rps / b.rps, 2)} (p99 ×${fmt(a.p99 / Math.max(b.p99, 1), 2)})`,
    goal: c.goal,
    met: c.met(a, b),
  };
  rows.push(row);
  console.log(
    `\n${row.scenario}\n  A ${row.a}\n  B ${row.b}\n  ratio ${row.ratio}; goal ${row.goal}: ${row.met ? 'met' : 'NOT met'}`,
  );
};

const memory: MemoryFigure = { samples: [] };
if (runs('forward-auth')) for (const c of await forwardAuthScenarios({ duration, rounds, memory })) compare(c);
const cpu = { gatewayUs: 0, nginxUs: 0, nginxAloneUs: 0 };
if (runs('nginx')) for (const c of await nginxScenario({ duration, rounds, cpu })) compare(c);
const cpuLine = `CPU per request in scenario 2 (from /proc): gateway ${fmt(cpu.gatewayUs)} µs + nginx ${fmt(cpu.nginxUs)} µs through the gateway, against nginx ${fmt(cpu.nginxAloneUs)} µs alone.`;
if (runs('nginx')) console.log(cpuLine);
if (runs('refresh')) for (const c of await refreshScenario({ duration, rounds })) compare(c);
if (runs('sso')) for (const c of await ssoSignInScenario({ duration, rounds })) compare(c, 'sign-ins/s');
if (runs('sessions')) for (const c of await storedSessionsScenario({ duration, rounds, large })) compare(c);
if (runs('machines')) for (const c of await machineClientsScenario({ duration, rounds })) compare(c, 'rounds/s');
const peak = Math.max(...memory.samples);
if (runs('forward-auth'))
  rows.push({
    scenario: '7. memory: gateway RSS under the load of 1 and 3',
    a: `peak ${fmt(peak)} MB (samples ${memory.samples.map((m) => fmt(m)).join(', ')} MB)`,
    b: '(absolute goal)',
    ratio: '',
    goal: 'RSS ≤ 150 MB',
    met: peak <= 150,
  });
if (runs('forward-auth'))
  console.log(`\n7. RSS under load: peak ${fmt(peak)} MB; goal ≤ 150 MB: ${peak <= 150 ? 'met' : 'NOT met'}`);

let soakLine = '';
if (values.soak) {
  const result = await soak(Number(values.soak));
  for (const { label, runs } of result.runs) check('soak', label, runs);
  const met = result.growth <= SOAK_GROWTH_GOAL;
  soakLine = `Soak (mixed traffic: checks, refresh grants and SSO sign-ins at once, bench/soak.ts): ${result.seconds} s, ${fmt(result.answered.checks)} checks, ${fmt(result.answered.refreshes)} refreshes, ${fmt(result.answered.signIns)} sign-ins; RSS in the second minute ${fmt(result.warmMb)} MB, in the last ${fmt(result.endMb)} MB: growth ${fmt(result.growth * 100, 1)} % (goal ≤ ${SOAK_GROWTH_GOAL * 100} %: ${met ? 'met' : 'NOT met'}; samples every 10 s: ${result.samples.map((m) => fmt(m)).join(', ')} MB).`;
  console.log(`\n${soakLine}`);
}

const logLines = gatewayLogs.reduce((sum, log) => sum + log.lines, 0);
const logBytes = gatewayLogs.reduce((sum, log) => sum + log.bytes, 0);
const warningCount = gatewayLogs.reduce((sum, log) => sum + log.warningCount, 0);
const warningKinds = new Map<string, number>();
for (const line of gatewayLogs.flatMap((log) => log.warnings)) {
  const kind = /"event":"([^"]*)"/.exec(line)?.[1] ?? /"msg":"([^"]{0,80})/.exec(line)?.[1] ?? line.slice(0, 80);
  warningKinds.set(kind, (warningKinds.get(kind) ?? 0) + 1);
}
const kinds = [...warningKinds].map(([kind, n]) => `${n} × ${kind}`).join(', ');
const logLine = `Gateway logs (default level, stdout and stderr drained through pipes): ${fmt(logLines)} lines, ${fmt(logBytes / 1024, 1)} KiB from ${gatewayLogs.length} gateways over the whole run; ${warningCount} at warn or above${kinds ? ` (${kinds}; \`data_key_created\` is each fresh store's first start)` : ''}.`;
console.log(`\n${logLine}`);

const adapterTable = !runs('adapter')
  ? ''
  : await benchStoreAdapter({
      duration: values.smoke ? 1 : 3,
      concurrency: [1, 50],
      // the smoke proves the harness runs: two backends are enough (CI keeps it under two minutes)
      backends: values.smoke ? ['memory', 'redis'] : [...STORE_BACKENDS],
    });
console.log(`\n${adapterTable}`);

if (write) {
  const command = `npm run bench -- --duration ${duration} --rounds ${rounds}${values.soak ? ` --soak ${values.soak}` : ''}`;
  const table = rows
    .map((r) => `| ${r.scenario} | ${r.a} | ${r.b} | ${r.ratio} | ${r.goal} | ${r.met ? 'met' : '**not met**'} |`)
    .join('\n');
  writeFileSync(
    'BENCHMARKS.md',
    `# Benchmarks

Measured by \`${command}\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}),
${fmt(totalmem() / 2 ** 30)} GiB, Node.js ${process.version}; 1-minute load average ${fmt(loadAtStart, 1)} when the run started and ${fmt(loadavg()[0] ?? 0, 1)} when it ended
(on 2 cores, anything above about 2 is other work competing with the servers and the load generator).

**The gateway runs as shipped**, as the README's production section sets it up: \`npm start\`'s command
(\`node ${START_COMMAND.join(' ')}\`, after the build of its prestart) with \`NODE_ENV=production\`,
a Redis store (a redis-server started for the run, \`appendonly yes\`, \`appendfsync everysec\`), and every other setting at its default (log level \`info\`, access log off, the default failure limits and sign-in limit,
300 s access tokens, the 300 s upstream re-check); its stdout and stderr are pipes the harness drains. nginx runs
[examples/nginx/gateway.conf](examples/nginx/gateway.conf) as shipped. The bare oidc-provider servers have the same token
settings; "example Redis adapter" is oidc-provider's example/adapters/redis.js, written in TypeScript
([bench/servers/example-redis-adapter.ts](bench/servers/example-redis-adapter.ts)).

Each comparison runs its sides interleaved (A B A B …), ${duration} s per run, ${rounds} round(s); HTTP load from autocannon
(50 connections) or, where each request depends on the last answer, from chains of requests (refresh: 32 chains; sign-in:
16), all from one address. Every server runs in its own process on the same machine as the load generator. Ratios are from
this one run: the machine is shared and noisy, so compare the two sides of a row, not figures across runs. nginx's
\`keepalive_requests\` for the load generator's own connections is raised on both sides of scenario 2 (autocannon ignores
\`Connection: close\`; see docs/PERFORMANCE.md); the config between nginx and the gateway is the shipped one.

| scenario | A | B (the limit) | ratio A/B | goal | result |
| --- | --- | --- | --- | --- | --- |
${table}

${cpuLine}

${logLine}

${failures.length ? `**Failed: ${failures.length} run(s) had connection errors or answers other than 2xx** (the command exited 1):\n\n${failures.map((f) => `- ${f}`).join('\n')}` : 'Every run: 0 connection errors, 0 answers other than 2xx.'}

${soakLine || 'Soak: not run in this measurement (`npm run bench -- --soak 600`).'}

See [docs/PERFORMANCE.md](docs/PERFORMANCE.md) for what limits each figure.

${adapterTable}
`,
  );
  console.log('\nwrote BENCHMARKS.md');
}

if (failures.length > 0) {
  console.error(
    `\nbench FAILED: connection errors or answers other than 2xx:\n${failures.map((f) => `  ${f}`).join('\n')}`,
  );
  process.exitCode = 1;
}

// One Markdown report: the printed table and bench/RESULTS.md are the same text.
import type { LoadResult } from './load.ts';

export interface Measured extends LoadResult {
  scenario: string;
  server: string;
}

export interface ServerFacts {
  server: string;
  readyMs: number;
  idleRssMb: number;
  loadRssMb: number;
}

export interface ReportInput {
  measured: Measured[];
  facts: ServerFacts[];
  notes: string[];
  machine: { cores: number; cpu: string; node: string; loadGenerator: string; date: string };
}

/** bench/compare.ts's section of bench/RESULTS.md lies between these; `npm run bench` keeps it. */
export const COMPARE_START = '<!-- bench/compare.ts: start -->';
export const COMPARE_END = '<!-- bench/compare.ts: end -->';
export const IDLE_RSS_START = '<!-- bench/idle-rss.ts: start -->';
export const IDLE_RSS_END = '<!-- bench/idle-rss.ts: end -->';
export const EVENTS_START = '<!-- bench/events.ts: start -->';
export const EVENTS_END = '<!-- bench/events.ts: end -->';
/** Written by hand from the peaks above when the chart's memory is re-sized; every run keeps it. */
export const CHART_MEMORY_START = '<!-- chart memory: start -->';
export const CHART_MEMORY_END = '<!-- chart memory: end -->';

/** The CPU profiles of a miss before and after a change, pasted from `npm run bench:profile-misses`; every run keeps them. */
export const MISS_PROFILE_START = '<!-- miss profile: start -->';
export const MISS_PROFILE_END = '<!-- miss profile: end -->';
/** One row per `npm run bench`, appended; the report above shows only the latest run in full. */
export const BENCH_RUNS_START = '<!-- bench runs: every run of `npm run bench` appends its row -->';
export const BENCH_RUNS_END = '<!-- /bench runs -->';
const BENCH_RUNS_HEADER = [
  '## Every run of `npm run bench`',
  '',
  'One row per run, appended by `npm run bench` (`BENCH_LABEL=<text>` names it); the tables at the top show the latest run in full. Ratios are req/s within the run; build: the commit, with `+` when the services\' sources differed from it.',
  '',
  '| date (UTC) | label | build | hits ÷ ceiling | misses ÷ baseline | register ÷ insert loop | p99 hits @5000/s ms | misses req/s, data-service / baseline | load average start, end |',
  '|---|---|---|--:|--:|--:|--:|--:|---|',
];

/** This run's row of the every-run table. */
export function benchRunRow({ measured, machine }: ReportInput, { label, build, loadAverage }: { label: string; build: string; loadAverage: string }): string {
  const rps = (scenario: string, server: string) => measured.find((m) => m.scenario === scenario && m.server === server)?.rps;
  const over = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? `${(a / b).toFixed(2)}×` : 'n/a');
  const fixedRate = measured.find((m) => m.scenario.startsWith('hits @') && m.server === 'data-service');
  const misses = `${Math.round(rps('misses', 'data-service') ?? Number.NaN)} / ${Math.round(rps('misses', 'baseline') ?? Number.NaN)}`;
  return `| ${machine.date.slice(0, 16).replace('T', ' ')} | ${label} | ${build} | ${over(rps('hits', 'data-service'), rps('hits', 'ceiling'))} | ${over(rps('misses', 'data-service'), rps('misses', 'baseline'))} | ${over(rps('register', 'user-service'), rps('register', 'insert loop'))} | ${fixed(fixedRate?.p99Ms ?? Number.NaN)} | ${misses} | ${loadAverage} |`;
}

/** `existing` with `row` added to the every-run table (made at the end when absent). */
export function appendBenchRun(existing: string, row: string): string {
  const start = existing.indexOf(BENCH_RUNS_START);
  const end = existing.indexOf(BENCH_RUNS_END);
  if (start >= 0 && end > start) return `${existing.slice(0, end).replace(/\n*$/, '\n')}${row}\n${existing.slice(end)}`;
  return `${existing.replace(/\n*$/, '\n\n')}${[BENCH_RUNS_START, ...BENCH_RUNS_HEADER, row, BENCH_RUNS_END].join('\n')}\n`;
}

/** What each scenario is compared with. */
const reference = (scenario: string) => (scenario === 'register' ? 'insert loop' : 'baseline');

const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const ratio = (value: number, base: number | undefined) => (base ? `${(value / base).toFixed(2)}×` : '');

export function renderReport({ measured, facts, notes, machine }: ReportInput): string {
  const find = (scenario: string, server: string) => measured.find((m) => m.scenario === scenario && m.server === server);
  const lines: string[] = [];
  lines.push('# Benchmark results', '');
  lines.push(`${machine.date} · ${machine.cores} cores (${machine.cpu}) · Node ${machine.node}`, '');
  lines.push(`Load: ${machine.loadGenerator}.`, '');

  lines.push('| scenario | server | req/s | × ref | p50 ms | × ref | p99 ms | × ref | requests | non-2xx |');
  lines.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const m of measured) {
    const ref = m.server === reference(m.scenario) ? undefined : find(m.scenario, reference(m.scenario));
    lines.push(
      `| ${m.scenario} | ${m.server} | ${Math.round(m.rps)} | ${ratio(m.rps, ref?.rps)} | ${fixed(m.p50Ms)} | ${ratio(m.p50Ms, ref?.p50Ms)} | ${fixed(m.p99Ms)} | ${ratio(m.p99Ms, ref?.p99Ms)} | ${m.requests} | ${m.non2xx + m.socketErrors} |`,
    );
  }
  lines.push('', '× ref: the ratio to the baseline (GET) or to the bare insert loop (register); for latency, lower is better.', '');

  lines.push('| server | start → ready ms | RSS idle MB | RSS peak under load MB |');
  lines.push('|---|--:|--:|--:|');
  for (const f of facts) lines.push(`| ${f.server} | ${Math.round(f.readyMs)} | ${fixed(f.idleRssMb, 1)} | ${fixed(f.loadRssMb, 1)} |`);
  lines.push('');

  lines.push('## Targets', '');
  // The ceiling answers one constant body whatever the path, so its hits are the reference for 404s too.
  const ratioToCeilingHits = (scenario: string) => {
    const m = find(scenario, 'data-service');
    const ceiling = find('hits', 'ceiling');
    return m && ceiling ? m.rps / ceiling.rps : undefined;
  };
  const target = (what: string, value: number | undefined, goal: string, met: (v: number) => boolean, show = (v: number) => fixed(v)) =>
    lines.push(`- ${what}: ${value === undefined ? 'not measured' : `${show(value)} (${met(value) ? 'met' : 'missed'}; target ${goal})`}`);
  /** server ÷ reference req/s; undefined when either answered with errors it should not have (e.g. refused writes). */
  const rpsRatio = (scenario: string, server: string, referenceServer = reference(scenario)) => {
    const m = find(scenario, server);
    const ref = find(scenario, referenceServer);
    const failed = (x: Measured) => (scenario === '404' ? 0 : x.non2xx) + x.socketErrors;
    if (m && ref && (failed(m) > 0 || failed(ref) > 0)) {
      lines.push(`- ${scenario}: ${failed(m)} failed answers from ${server}, ${failed(ref)} from ${referenceServer}: the ratio below is not a measurement`);
      return undefined;
    }
    return m && ref ? m.rps / ref.rps : undefined;
  };
  target('cache hits, data-service ÷ node:http ceiling req/s', rpsRatio('hits', 'data-service', 'ceiling'), '≥ 0.8×', (v) => v >= 0.8);
  target('404s, data-service ÷ node:http ceiling (hits) req/s', ratioToCeilingHits('404'), '≥ 0.8×', (v) => v >= 0.8);
  target('cache misses, data-service ÷ baseline req/s', rpsRatio('misses', 'data-service'), '≥ 1.2×', (v) => v >= 1.2);
  target('register, user-service ÷ insert loop req/s', rpsRatio('register', 'user-service'), '≥ 0.9×', (v) => v >= 0.9);
  const fixedRate = measured.find((m) => m.scenario.startsWith('hits @') && m.server === 'data-service');
  target(`data-service p99 for hits at ${fixedRate?.scenario.slice('hits @'.length) ?? 'a fixed rate'}`, fixedRate?.p99Ms, '< 5 ms', (v) => v < 5, (v) => `${fixed(v)} ms`);
  for (const f of facts.filter((f) => f.server.endsWith('-service'))) {
    target(`${f.server} idle RSS`, f.idleRssMb, '< 80 MB', (v) => v < 80, (v) => `${fixed(v, 1)} MB`);
    target(`${f.server} start → ready`, f.readyMs, '< 1000 ms', (v) => v < 1000, (v) => `${Math.round(v)} ms`);
  }
  lines.push('');

  lines.push('## How it was measured', '');
  lines.push(
    '- hits: GET /user/:name over a hot set of 1,000 seeded users, warmed first. 404: 1,000 unknown names, repeated.',
    '- misses: each request a seeded user never asked for before in that server\'s life, after its Redis keys were',
    '  deleted, so every request misses both tiers and reaches PostgreSQL.',
    '- register: POST /register with a new name each request; the reference runs the same INSERT from a bare',
    '  postgres.js pool of the same size with the same concurrency. One data-service replica runs meanwhile, so each register',
    '  includes the wait for its acknowledgement (read-your-writes) and the replica\'s NOTIFY work shares the servers\' core.',
    '- fixed rate: requests leave on a schedule whether or not earlier ones have been answered (open loop); run right after the hits, on the same warm hot set.',
    '- pools: the services and the insert loop use the services\' default PG_POOL_MAX (one connection per core, 2–10); the baseline keeps postgres.js\'s default of 10, the plain way.',
    '- data-service and user-service run at their default LOG_LEVEL=info (access lines for writes, 5xx and slow requests, to a file) and keep their metrics; the baseline does neither.',
    ...notes.map((note) => `- ${note}`),
  );
  return `${lines.join('\n')}\n`;
}

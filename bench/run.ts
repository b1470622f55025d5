// `npm run bench`: the built services against a bare-Node baseline and a node:http ceiling, side
// by side in one run on this machine. Measures and reports; asserts nothing.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PG_POOL_MAX } from '../services/shared/src/config/index.ts';
import { createScratchBackends, pgEnv, type ScratchBackends } from '../scripts/scratch-backends.ts';
import { migrateAndSeed, SEED_USERS, SEEDED_PREFIX, seedMs } from './database.ts';
import { ensureWrk, wrk, type LoadMode, type LoadResult } from './load.ts';
import { cores, cpuModel, killAll, loadAverage, parseResult, pinned, pinning, rssMb, runBench, runCommand, type Server, startServer, watchRss } from './processes.ts';
import { keptRealistic, RUNS_END, RUNS_START } from './realistic/report.ts';
import { signWriteToken } from './realistic/jwt.ts';
import {
  appendBenchRun,
  BENCH_RUNS_END,
  BENCH_RUNS_START,
  benchRunRow,
  CHART_MEMORY_END,
  CHART_MEMORY_START,
  COMPARE_END,
  COMPARE_START,
  EVENTS_END,
  EVENTS_START,
  IDLE_RSS_END,
  IDLE_RSS_START,
  MISS_PROFILE_END,
  MISS_PROFILE_START,
  renderReport,
  type Measured,
  type ServerFacts,
} from './report.ts';

const CONNECTIONS = 64;
const SECONDS = 8;
const WARMUP_SECONDS = 2;
const FIXED_RATE = 5_000;
const FIXED_RATE_SECONDS = 8;
const PORTS = { ceiling: 18401, baseline: 18402, data: 18403, user: 18404 } as const;
/** The last 1,000 seeded users are the hot set; misses walk up from u1 and must stay below it. */
const HOT = { prefix: SEEDED_PREFIX, first: SEED_USERS - 999, count: 1_000 };
const MISS_LIMIT = HOT.first - 1;
const WATCHDOG_MS = 6 * 60_000;

const runId = randomBytes(3).toString('hex');
/** The run's own database and key prefix, made first thing and removed on every way out. */
let scratch: ScratchBackends | undefined;
const logDir = mkdtempSync(join(tmpdir(), 'bench-'));
const profileDir = process.env.BENCH_CPU_PROF || undefined;

const servers = new Set<Server>();
const measured: Measured[] = [];
const facts: ServerFacts[] = [];
const notes: string[] = [pinning.note];

async function start(name: string, script: string, port: number, env: Record<string, string>): Promise<Server> {
  const nodeOptions = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  const server = await startServer({
    name,
    args: [script],
    port,
    env: { ...scratch!.env, ...env },
    logFile: join(logDir, `${name}.log`),
    nodeOptions,
  });
  servers.add(server);
  return server;
}

async function stop(server: Server) {
  await server.stop();
  servers.delete(server);
}

/** Runs `body` with the server's RSS watched; records idle RSS first and the peak afterwards. */
async function measureServer(server: Server, body: () => Promise<void>) {
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const idleMb = rssMb(server.pid);
  const peak = watchRss(server.pid);
  await body();
  facts.push({ server: server.name, readyMs: server.readyMs, idleRssMb: idleMb, loadRssMb: peak() });
}

async function load(server: Server, scenario: string, mode: LoadMode, warmup: LoadMode | null = mode): Promise<LoadResult> {
  if (warmup) await wrk(server.url, warmup, { connections: CONNECTIONS, seconds: WARMUP_SECONDS });
  const result = await wrk(server.url, mode, { connections: CONNECTIONS, seconds: SECONDS });
  measured.push({ scenario, server: server.name, ...result });
  process.stdout.write(`  ${scenario.padEnd(10)} ${server.name.padEnd(14)} ${Math.round(result.rps)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms\n`);
  return result;
}

async function fixedRate(server: Server) {
  const [command, argv] = pinned(pinning.load, process.execPath, [
    'bench/constant-rate.ts', server.url, String(FIXED_RATE), String(FIXED_RATE_SECONDS), `/user/${HOT.prefix}`, String(HOT.first), String(HOT.count),
  ]);
  const output = await runCommand(command, argv, {}, (FIXED_RATE_SECONDS + 30) * 1000);
  const result = parseResult<{ rps: number; p50Ms: number; p99Ms: number; requests: number; failures: number }>(output, 'constant-rate');
  measured.push({ scenario: `hits @${FIXED_RATE}/s`, server: server.name, rps: result.rps, p50Ms: result.p50Ms, p99Ms: result.p99Ms, requests: result.requests, non2xx: result.failures, socketErrors: 0, issued: 0 });
  process.stdout.write(`  fixed rate ${server.name.padEnd(14)} ${Math.round(result.rps)} req/s, p99 ${result.p99Ms.toFixed(2)} ms\n`);
}

/** The GET scenarios, identical for the baseline and data-service. */
async function readScenarios(server: Server, prefix: string) {
  await load(server, 'hits', { mode: 'cycle', ...HOT });
  // While the hot set is still cached: after the miss run it would not be (misses evict it from
  // the in-process tier, and that run starts by deleting the Redis keys).
  await fixedRate(server);
  await load(server, '404', { mode: 'cycle', prefix: 'nobody-', first: 1, count: 1_000 });
  // Warm the miss path on unknown names, empty this server's Redis keys, then ask each seeded
  // user once: every request misses both tiers and reaches PostgreSQL.
  await wrk(server.url, { mode: 'sequence', prefix: `warm-${runId}-`, first: 1 }, { connections: CONNECTIONS, seconds: WARMUP_SECONDS });
  await scratch!.deleteKeys(prefix);
  const misses = await load(server, 'misses', { mode: 'sequence', prefix: SEEDED_PREFIX, first: 1 }, null);
  if (misses.issued > MISS_LIMIT) notes.push(`${server.name}: the miss run asked ${misses.issued} names, past the ${MISS_LIMIT} that are never cached beforehand`);
}

async function main() {
  if (!existsSync('dist/services/data/src/main.js')) throw new Error('run `npm run build` first (npm run bench does)');
  const wrkVersion = ensureWrk();
  process.stdout.write(`bench ${runId}: ${cores} cores, node ${process.version}, ${wrkVersion}; logs in ${logDir}\n`);

  scratch = await createScratchBackends('bench');
  const { database, keyPrefix: redisPrefix } = scratch;
  const seeded = seedMs(await migrateAndSeed(database));
  process.stdout.write(`database ${database}: migrated and seeded ${SEED_USERS} users in ${Math.round(seeded)} ms\n`);

  const ceiling = await start('ceiling', 'bench/ceiling-server.ts', PORTS.ceiling, {});
  await measureServer(ceiling, async () => {
    await load(ceiling, 'hits', { mode: 'cycle', ...HOT });
    await fixedRate(ceiling);
  });
  await stop(ceiling);

  const baselinePrefix = `${redisPrefix}baseline:`;
  const baseline = await start('baseline', 'bench/baseline-server.ts', PORTS.baseline, { REDIS_KEY_PREFIX: baselinePrefix });
  await measureServer(baseline, () => readScenarios(baseline, baselinePrefix));
  await stop(baseline);

  const dataPrefix = `${redisPrefix}data:`;
  const data = await start('data-service', 'dist/services/data/src/main.js', PORTS.data, { REDIS_KEY_PREFIX: dataPrefix, LOG_LEVEL: 'info' });
  await measureServer(data, () => readScenarios(data, dataPrefix));
  await stop(data);

  // One data-service replica runs during the registers, as in any deployment: each write waits for
  // its acknowledgement (read-your-writes), and it handles every NOTIFY on the servers' core.
  // user-service evicts written names from data-service's Redis keys, so it shares their prefix.
  const replica = await start('data-service-replica', 'dist/services/data/src/main.js', PORTS.data, { REDIS_KEY_PREFIX: dataPrefix, LOG_LEVEL: 'info' });
  const user = await start('user-service', 'dist/services/user/src/main.js', PORTS.user, { REDIS_KEY_PREFIX: dataPrefix, LOG_LEVEL: 'info' });
  await measureServer(user, async () => {
    const token = signWriteToken(scratch!.env.JWT_SECRET!);
    await load(user, 'register', { mode: 'register', prefix: `reg-${runId}-`, token }, { mode: 'register', prefix: `regwarm-${runId}-`, token });
  });
  await stop(user);
  await stop(replica);

  const [command, argv] = pinned(pinning.server, process.execPath, ['bench/insert-loop.ts']);
  const output = await runCommand(command, argv, pgEnv(database, {
    // user-service's own pool size (it runs with its default).
    PG_POOL_MAX: String(DEFAULT_PG_POOL_MAX),
    CONCURRENCY: String(CONNECTIONS),
    WARMUP_MS: String(WARMUP_SECONDS * 1000),
    DURATION_MS: String(SECONDS * 1000),
    NAME_PREFIX: `insert-${runId}-`,
  }), (SECONDS + WARMUP_SECONDS + 30) * 1000);
  const inserts = parseResult<{ rps: number; p50Ms: number; p99Ms: number; requests: number; errors: number }>(output, 'insert loop');
  measured.push({ scenario: 'register', server: 'insert loop', rps: inserts.rps, p50Ms: inserts.p50Ms, p99Ms: inserts.p99Ms, requests: inserts.requests, non2xx: inserts.errors, socketErrors: 0, issued: 0 });
  process.stdout.write(`  register   insert loop    ${Math.round(inserts.rps)} req/s, p50 ${inserts.p50Ms.toFixed(2)} ms, p99 ${inserts.p99Ms.toFixed(2)} ms\n`);

  const loadAtEnd = loadAverage();
  notes.push(`load average (1 min) at the start ${loadAtStart}, at the end ${loadAtEnd}: other work on the machine shares the cores`);
  const input = {
    measured,
    facts,
    notes,
    machine: {
      cores,
      cpu: cpuModel(),
      node: process.version,
      loadGenerator: `${wrkVersion.split(' [')[0]} (1 thread, ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up, ${SECONDS} s measured); fixed rate: bench/constant-rate.ts (open loop)`,
      date: new Date().toISOString(),
    },
  };
  const report = renderReport(input);
  const row = benchRunRow(input, { label: process.env.BENCH_LABEL || '', build: build(), loadAverage: `${loadAtStart}, ${loadAtEnd}` });
  process.stdout.write(`\n${report}\n${row}\n`);
  // The sections of `npm run bench:compare`, `bench:rss` and `bench:realistic` come from their own
  // commands, the chart's memory and the miss profiles from whoever measured them; this run keeps
  // them, and adds its row to the table of every run.
  const kept = [
    keptSection(MISS_PROFILE_START, MISS_PROFILE_END),
    keptSection(COMPARE_START, COMPARE_END),
    keptSection(IDLE_RSS_START, IDLE_RSS_END),
    keptSection(EVENTS_START, EVENTS_END),
    keptSection(CHART_MEMORY_START, CHART_MEMORY_END),
    keptRealistic(existsSync('bench/RESULTS.md') ? readFileSync('bench/RESULTS.md', 'utf8') : ''),
    keptSection(RUNS_START, RUNS_END),
    keptSection(BENCH_RUNS_START, BENCH_RUNS_END),
  ];
  writeFileSync('bench/RESULTS.md', appendBenchRun(report + kept.join(''), row));
  process.stdout.write('\nwritten to bench/RESULTS.md\n');
}

/** A section another command wrote (bench:compare, bench:rss, the chart's memory), kept when this run rewrites the file. */
function keptSection(startMarker: string, endMarker: string): string {
  const previous = existsSync('bench/RESULTS.md') ? readFileSync('bench/RESULTS.md', 'utf8') : '';
  const start = previous.indexOf(startMarker);
  const end = previous.indexOf(endMarker);
  return start >= 0 && end > start ? `\n${previous.slice(start, end + endMarker.length)}\n` : '';
}

const loadAtStart = loadAverage();

/** The commit measured, with `+` when the services' sources differ from it (or '?' outside git). */
function build(): string {
  const git = (...args: string[]) => spawnSync('git', args, { encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return '?';
  const changed = git('status', '--porcelain', '--', 'services').stdout.trim() !== '';
  return `${head.stdout.trim()}${changed ? '+' : ''}`;
}

async function cleanUp() {
  for (const server of servers) await server.stop().catch(() => {});
  killAll();
  await scratch
    ?.dispose()
    .catch((error: unknown) => process.stderr.write(`could not remove ${scratch?.database} and ${scratch?.keyPrefix}*: ${(error as Error).message}\n`));
}

await runBench('benchmark', { main, cleanUp, watchdogMs: WATCHDOG_MS, logDir });

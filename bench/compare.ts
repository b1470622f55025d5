// `npm run bench:compare`: what tracing costs. data-service and user-service with tracing off,
// with tracing on (every request sampled, then one in ten, exported to a local OTLP sink) and, with BENCH_COMPARE_DIST=<another build's dist/>, that build's services, measured in
// interleaved rounds: each round loads every variant once, in a rotating order, so a change in
// the machine's load (other work on shared cores) falls on all of them alike. Writes its table
// into bench/RESULTS.md (the section between the compare markers, which `npm run bench` keeps).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScratchBackends, type ScratchBackends } from '../scripts/scratch-backends.ts';
import { migrateAndSeed, SEED_USERS, SEEDED_PREFIX } from './database.ts';
import { ensureWrk, wrk, type LoadMode, type LoadResult } from './load.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { cores, killAll, loadAverage, rssMb, type Server, startServer, watchRss } from './processes.ts';
import { signWriteToken } from './realistic/jwt.ts';
import { COMPARE_END, COMPARE_START } from './report.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const SECONDS = 5;
const WARMUP_SECONDS = 1;
const CONNECTIONS = 64;
const HOT: LoadMode = { mode: 'cycle', prefix: SEEDED_PREFIX, first: SEED_USERS - 999, count: 1_000 };

const runId = randomBytes(3).toString('hex');
/** The run's own database and key prefix, made first thing and removed on every way out. */
let scratch: ScratchBackends | undefined;
const logDir = mkdtempSync(join(tmpdir(), 'bench-compare-'));
const compareDist = process.env.BENCH_COMPARE_DIST || undefined;
const profileDir = process.env.BENCH_CPU_PROF || undefined;

interface Variant {
  name: string;
  dist: string;
  env: Record<string, string>;
}

interface Sample {
  rps: number;
  p99Ms: number;
  /** The server's own CPU time per answered request: far steadier than req/s when other work shares the cores. */
  cpuUs: number;
}

interface Outcome {
  samples: Sample[];
  idleRssMb: number;
  peakRssMb: number;
}

async function main() {
  if (!existsSync('dist/services/data/src/main.js')) throw new Error('run `npm run build` first');
  ensureWrk();
  scratch = await createScratchBackends('bench_compare');
  await migrateAndSeed(scratch.database);
  const sink = await startOtlpSink();
  const variants: Variant[] = [
    { name: 'tracing off', dist: 'dist', env: {} },
    { name: 'tracing on', dist: 'dist', env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url } },
    {
      name: 'tracing on, 10% sampled',
      dist: 'dist',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' },
    },
    ...(compareDist ? [{ name: 'compared build', dist: compareDist, env: {} }] : []),
  ];
  const loadAtStart = loadAverage();

  // One service at a time: data-service would spend the server core on every register's NOTIFY.
  const reads = await interleaved(variants, 'data', 18410, (server, seconds) => measured(server, () => wrk(server.url, HOT, { connections: CONNECTIONS, seconds })));
  const readSpans = sink.take().spans;
  let registered = 0;
  const writes = await interleaved(variants, 'user', 18420, (server, seconds) =>
    measured(server, () => wrk(server.url, { mode: 'register', prefix: `reg-${runId}-${registered++}-`, token: signWriteToken(scratch!.env.JWT_SECRET!) }, { connections: CONNECTIONS, seconds })),
  );
  const writeSpans = sink.take().spans;
  await sink.close();

  const off = (outcomes: Map<string, Outcome>) => median(outcomes.get('tracing off')!.samples.map((s) => s.cpuUs));
  const lines = [
    COMPARE_START,
    '## Tracing: off, on' + (compareDist ? ', and the compared build' : ''),
    '',
    `${new Date().toISOString()} · ${cores} cores · \`${compareDist ? `BENCH_COMPARE_DIST=<dist of the compared build> ` : ''}npm run bench:compare\` · ${ROUNDS} interleaved rounds of ${SECONDS} s per variant (after ${WARMUP_SECONDS} s warm-up), ${CONNECTIONS} connections; medians.`,
    '',
    '| variant | hits CPU µs/req | × off | hits req/s | hits p99 ms | register CPU µs/req | × off | register req/s | register p99 ms | data-service RSS idle / peak MB | user-service RSS idle / peak MB |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...variants.map(({ name }) => {
      const read = reads.get(name)!;
      const write = writes.get(name)!;
      const cpu = (o: Outcome) => median(o.samples.map((s) => s.cpuUs));
      const rps = (o: Outcome) => median(o.samples.map((s) => s.rps));
      const p99 = (o: Outcome) => median(o.samples.map((s) => s.p99Ms));
      return `| ${name} | ${cpu(read).toFixed(1)} | ${(cpu(read) / off(reads)).toFixed(2)}× | ${Math.round(rps(read))} | ${p99(read).toFixed(2)} | ${cpu(write).toFixed(1)} | ${(cpu(write) / off(writes)).toFixed(2)}× | ${Math.round(rps(write))} | ${p99(write).toFixed(2)} | ${read.idleRssMb.toFixed(1)} / ${read.peakRssMb.toFixed(1)} | ${write.idleRssMb.toFixed(1)} / ${write.peakRssMb.toFixed(1)} |`;
    }),
    '',
    `- CPU µs/req: the server process's user + system CPU time during the measured seconds (from /proc) divided by the requests it answered; × off compares it with tracing off (higher costs more)`,
    `- every round, per variant (CPU µs/req, hits then register): ${variants.map(({ name }) => `${name}: ${reads.get(name)!.samples.map((s) => s.cpuUs.toFixed(1)).join(', ')}; ${writes.get(name)!.samples.map((s) => s.cpuUs.toFixed(1)).join(', ')}`).join(' · ')}`,
    `- tracing on: every request sampled (the SDK default) or one trace in ten (OTEL_TRACES_SAMPLER=parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG=0.1), exported to an OTLP/HTTP sink in the benchmark process; ${readSpans} spans arrived from data-service and ${writeSpans} from user-service in all (the batch processor drops what does not fit its queue of 2,048)`,
    `- load average (1 min) at the start ${loadAtStart}, at the end ${loadAverage()}; servers pinned to the last core when taskset is available`,
    COMPARE_END,
  ];
  const section = lines.join('\n');
  process.stdout.write(`\n${section}\n`);
  const results = existsSync('bench/RESULTS.md') ? readFileSync('bench/RESULTS.md', 'utf8') : '';
  const start = results.indexOf(COMPARE_START);
  const end = results.indexOf(COMPARE_END);
  const updated = start >= 0 && end > start
    ? `${results.slice(0, start)}${section}${results.slice(end + COMPARE_END.length)}`
    : `${results.trimEnd()}\n\n${section}\n`;
  writeFileSync('bench/RESULTS.md', updated);
}

/** Starts one server per variant, then runs `round` on each, ROUNDS times in rotating order. */
async function interleaved(variants: Variant[], service: 'data' | 'user', firstPort: number, run: (server: Server, seconds: number) => Promise<Sample>) {
  const servers: Server[] = [];
  const outcomes = new Map<string, Outcome>();
  try {
    for (const [index, variant] of variants.entries()) {
      const server = await startServer({
        name: `${service} ${variant.name}`,
        args: [join(variant.dist, `services/${service}/src/main.js`)],
        port: firstPort + index,
        env: { ...scratch!.env, LOG_LEVEL: 'info', ...variant.env },
        logFile: join(logDir, `${service}-${index}.log`),
        nodeOptions: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${service}-${index}.cpuprofile`] : [],
      });
      servers.push(server);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const peaks = servers.map((server) => {
      outcomes.set(variantOf(server, variants).name, { samples: [], idleRssMb: rssMb(server.pid), peakRssMb: 0 });
      return watchRss(server.pid);
    });
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < servers.length; i++) {
        const server = servers[(i + r) % servers.length]!;
        await run(server, WARMUP_SECONDS);
        const sample = await run(server, SECONDS);
        outcomes.get(variantOf(server, variants).name)!.samples.push(sample);
        process.stdout.write(`  ${server.name.padEnd(32)} round ${r + 1}: ${sample.cpuUs.toFixed(1)} CPU µs/req, ${Math.round(sample.rps)} req/s, p99 ${sample.p99Ms.toFixed(2)} ms\n`);
      }
    }
    servers.forEach((server, index) => (outcomes.get(variantOf(server, variants).name)!.peakRssMb = peaks[index]!()));
  } finally {
    for (const server of servers) await server.stop();
  }
  return outcomes;
}

/** Runs a load and adds the server's CPU time per request to its result. */
async function measured(server: Server, load: () => Promise<LoadResult>): Promise<Sample> {
  const before = cpuSeconds(server.pid);
  const result = await load();
  const cpu = cpuSeconds(server.pid) - before;
  return { rps: result.rps, p99Ms: result.p99Ms, cpuUs: (cpu * 1e6) / Math.max(1, result.requests) };
}

/** utime + stime of a process, in seconds (fields 14 and 15 of /proc/<pid>/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function variantOf(server: Server, variants: Variant[]): Variant {
  return variants.find((variant) => server.name.endsWith(variant.name))!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}


try {
  await main();
} catch (error) {
  process.stderr.write(`comparison failed: ${(error as Error).stack ?? error}\nserver logs: ${logDir}\n`);
  process.exitCode = 1;
} finally {
  killAll();
  await scratch?.dispose().catch(() => {});
}

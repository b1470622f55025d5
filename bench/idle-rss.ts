// `npm run bench:rss`: each built service's resident memory at idle, tracing off, run as plain
// `node main.js` and with the NODE_OPTIONS its Dockerfile sets. Starts user-service and
// data-service in turn, alternating the order and the variant each round, on a scratch database
// and Redis prefix; waits until each is ready and has settled, reads VmRSS from /proc and the V8
// heap from a probe loaded into the process, stops it, and writes the medians to bench/RESULTS.md
// (its own section, which `npm run bench` keeps). Measures and reports; asserts nothing.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createScratchBackends, type ScratchBackends } from '../scripts/scratch-backends.ts';
import { cores, killAll, loadAverage, rssMb, startServer } from './processes.ts';
import { freePort } from '../scripts/free-port.ts';
import { IDLE_RSS_END, IDLE_RSS_START } from './report.ts';

const { values: options } = parseArgs({
  options: {
    starts: { type: 'string', default: '3' },
    // Idle means after start-up work has finished: first connections, the first GC cycles.
    settle: { type: 'string', default: '3' },
  },
});
const STARTS = Number(options.starts);
const SETTLE_MS = Number(options.settle) * 1000;

const SERVICES = [
  { name: 'user-service', script: 'dist/services/user/src/main.js', dockerfile: 'Dockerfile.user' },
  { name: 'data-service', script: 'dist/services/data/src/main.js', dockerfile: 'Dockerfile.data' },
] as const;

/** The node flags an image runs its service with: its Dockerfile's NODE_OPTIONS. */
function imageNodeOptions(dockerfile: string): string[] {
  const match = /^\s*NODE_OPTIONS=("[^"]*"|\S+)/m.exec(readFileSync(dockerfile, 'utf8'));
  return match ? match[1]!.replace(/^"|"$/g, '').split(/\s+/).filter(Boolean) : [];
}

const VARIANTS = [
  { name: 'plain node', flags: (_dockerfile: string): string[] => [] },
  { name: 'image NODE_OPTIONS', flags: imageNodeOptions },
] as const;

interface Sample {
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
}

let scratch: ScratchBackends | undefined;

async function main() {
  if (!existsSync('dist/services/data/src/main.js')) throw new Error('run `npm run build` first (npm run bench:rss does)');
  scratch = await createScratchBackends('bench_rss');
  const logDir = mkdtempSync(join(tmpdir(), 'bench-rss-'));
  const key = (service: string, variant: string) => `${service}\u0000${variant}`;
  const samples = new Map<string, Sample[]>();
  const loadStart = loadAverage();
  // user-service migrates on start; data-service is ready only once the users table exists, so
  // user-service goes first in the first round.
  for (let round = 0; round < STARTS; round++) {
    const services = round % 2 === 0 ? SERVICES : [...SERVICES].reverse();
    const variants = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const service of services) {
      for (const variant of variants) {
        const flags = variant.flags(service.dockerfile);
        const server = await startServer({
          name: service.name,
          args: [service.script],
          port: await freePort(),
          // Tracing off (no OTEL endpoint), metrics on their own port as in the images.
          env: { ...scratch.env, LOG_LEVEL: 'info', METRICS_PORT: String(await freePort()) },
          logFile: join(logDir, `${service.name}-${round}-${variants.indexOf(variant)}.log`),
          nodeOptions: ['--import', new URL('./idle-rss-probe.mjs', import.meta.url).pathname, ...flags],
        });
        try {
          await sleep(SETTLE_MS);
          // RSS first: asking the probe wakes the process.
          const rss = rssMb(server.pid);
          process.kill(server.pid, 'SIGUSR2');
          const sample = { rssMb: rss, ...(await readProbe(server.logFile)) };
          const list = samples.get(key(service.name, variant.name)) ?? [];
          samples.set(key(service.name, variant.name), [...list, sample]);
          process.stdout.write(`  ${service.name} ${variant.name} (${flags.join(' ') || 'no flags'}) start ${round + 1}: RSS ${sample.rssMb.toFixed(1)} MB, V8 heap used ${sample.heapUsedMb.toFixed(1)} of ${sample.heapTotalMb.toFixed(1)} MB\n`);
        } finally {
          await server.stop();
        }
      }
    }
  }

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const rows = SERVICES.flatMap((service) =>
    VARIANTS.map((variant) => {
      const list = samples.get(key(service.name, variant.name))!;
      const flags = variant.flags(service.dockerfile).join(' ') || '—';
      return `| ${service.name} | ${variant.name} | ${flags === '—' ? flags : `\`${flags}\``} | ${median(list.map((s) => s.rssMb)).toFixed(1)} | ${list.map((s) => s.rssMb.toFixed(1)).join(', ')} | ${median(list.map((s) => s.heapUsedMb)).toFixed(1)} / ${median(list.map((s) => s.heapTotalMb)).toFixed(1)} |`;
    }),
  );
  const section = [
    IDLE_RSS_START,
    '## Idle memory',
    '',
    `${new Date().toISOString()} · ${cores} cores · Node ${process.version} · \`npm run bench:rss\` · ${STARTS} starts per service and variant, alternating, ${SETTLE_MS / 1000} s after ready; tracing off; load average ${loadStart} at the start, ${loadAverage()} at the end`,
    '',
    '| service | run as | node flags | RSS idle MB (median) | every start | V8 heap used / committed MB |',
    '|---|---|---|--:|---|--:|',
    ...rows,
    '',
    '- RSS: /proc VmRSS. V8 heap: `process.memoryUsage()` inside the service, read by bench/idle-rss-probe.mjs on a signal after RSS was taken.',
    '- plain node: `npm run start:user` / `start:data`, as the tests and the benchmarks run them. image NODE_OPTIONS: the flags the Dockerfile sets, as the chart runs them.',
    IDLE_RSS_END,
  ].join('\n');
  process.stdout.write(`\n${section}\n`);
  const file = 'bench/RESULTS.md';
  writeFileSync(file, spliceIdleRss(existsSync(file) ? readFileSync(file, 'utf8') : '', section));
  process.stdout.write(`\nwritten to ${file} (section "Idle memory")\n`);
}

/** Replaces the section in place, or appends it. */
function spliceIdleRss(existing: string, section: string): string {
  const start = existing.indexOf(IDLE_RSS_START);
  const end = existing.indexOf(IDLE_RSS_END);
  if (start >= 0 && end > start) return existing.slice(0, start) + section + existing.slice(end + IDLE_RSS_END.length);
  return `${existing.replace(/\n*$/, '')}\n\n${section}\n`;
}


/** The probe writes the heap figures to stdout (the log file) when asked; the last such line wins. */
async function readProbe(logFile: string): Promise<{ heapUsedMb: number; heapTotalMb: number }> {
  for (let tries = 0; tries < 50; tries++) {
    const line = readFileSync(logFile, 'utf8').split('\n').findLast((l) => l.startsWith('IDLE_RSS_PROBE '));
    if (line) return JSON.parse(line.slice('IDLE_RSS_PROBE '.length)) as { heapUsedMb: number; heapTotalMb: number };
    await sleep(20);
  }
  return { heapUsedMb: Number.NaN, heapTotalMb: Number.NaN };
}


try {
  await main();
} finally {
  killAll();
  await scratch?.dispose();
}

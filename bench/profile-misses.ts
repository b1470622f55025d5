// `npm run bench:profile-misses`: where a cache miss spends its CPU. Runs the miss scenario of
// `npm run bench` (every request a seeded user never asked for, its Redis keys deleted) against the
// baseline and the built data-service, each under `node --cpu-prof`, and prints the functions with
// the most self time during the measured seconds only (start-up and warm-up left out), as Markdown.
// PROFILE_DIST=<another build's dist/> profiles that build's data-service instead (a before and
// after on the same machine). Measures and asserts nothing.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScratchBackends, type ScratchBackends } from '../scripts/scratch-backends.ts';
import { migrateAndSeed, SEEDED_PREFIX } from './database.ts';
import { monotonicUs, topEntries } from './cpu-profile.ts';
import { ensureWrk, wrk } from './load.ts';
import { cores, killAll, loadAverage, pinning, runBench, startServer } from './processes.ts';

const CONNECTIONS = 64;
const SECONDS = 8;
const WARMUP_SECONDS = 2;
const TOP = Number(process.env.PROFILE_TOP || 15);
const DIST = process.env.PROFILE_DIST || 'dist';

const runId = randomBytes(3).toString('hex');
let scratch: ScratchBackends | undefined;
const logDir = mkdtempSync(join(tmpdir(), 'bench-profile-'));

async function profileMisses(name: string, script: string, port: number): Promise<string[]> {
  const prefix = `${scratch!.keyPrefix}${name}:`;
  const server = await startServer({
    name,
    args: [script],
    port,
    env: { ...scratch!.env, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'info' },
    logFile: join(logDir, `${name}.log`),
    nodeOptions: ['--cpu-prof', `--cpu-prof-dir=${logDir}`, `--cpu-prof-name=${name}.cpuprofile`],
  });
  try {
    await wrk(server.url, { mode: 'sequence', prefix: `warm-${runId}-`, first: 1 }, { connections: CONNECTIONS, seconds: WARMUP_SECONDS });
    await scratch!.deleteKeys(prefix);
    const fromUs = monotonicUs();
    const result = await wrk(server.url, { mode: 'sequence', prefix: SEEDED_PREFIX, first: 1 }, { connections: CONNECTIONS, seconds: SECONDS });
    const toUs = monotonicUs();
    await server.stop();
    const { busyUs, totalUs, entries } = topEntries(join(logDir, `${name}.cpuprofile`), TOP, { fromUs, toUs });
    return [
      `**${name}**: ${Math.round(result.rps)} misses/s, p99 ${result.p99Ms.toFixed(2)} ms; busy ${(busyUs / 1e6).toFixed(1)} of ${(totalUs / 1e6).toFixed(1)} s, ${((busyUs / Math.max(1, result.requests))).toFixed(0)} µs of CPU per miss (main thread)`,
      '',
      '| self time | function | where |',
      '|--:|---|---|',
      ...entries.map(({ fn, where, share }) => `| ${(100 * share).toFixed(1)}% | \`${fn}\` | ${where} |`),
      '',
    ];
  } finally {
    await server.stop();
  }
}

async function main() {
  if (!existsSync('dist/services/data/src/main.js')) throw new Error('run `npm run build` first (npm run bench:profile-misses does)');
  ensureWrk();
  scratch = await createScratchBackends('bench_profile');
  await migrateAndSeed(scratch.database);
  const loadAtStart = loadAverage();
  const lines = [
    `${new Date().toISOString()} · ${cores} cores · Node ${process.version} · \`${DIST === 'dist' ? '' : 'PROFILE_DIST=<dist of the build before> '}npm run bench:profile-misses\` · ${CONNECTIONS} connections, ${SECONDS} s of misses after ${WARMUP_SECONDS} s on unknown names; ${pinning.note}`,
    '',
    ...(await profileMisses('baseline', 'bench/baseline-server.ts', 18431)),
    ...(await profileMisses('data-service', join(DIST, 'services/data/src/main.js'), 18432)),
    `Load average (1 min) ${loadAtStart} at the start, ${loadAverage()} at the end. Self time: the share of the main thread's busy samples in that function itself during the measured seconds; \`(program)\` is V8 and Node's own native work, \`(garbage collector)\` GC on the main thread.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n\nprofiles and logs in ${logDir}\n`);
}

async function cleanUp() {
  killAll();
  await scratch?.dispose().catch((error: unknown) => process.stderr.write(`could not remove ${scratch?.database}: ${(error as Error).message}\n`));
}

await runBench('profile', { main, cleanUp, watchdogMs: 5 * 60_000, logDir });

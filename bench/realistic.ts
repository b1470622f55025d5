// `npm run bench:realistic`: the services under a realistic mix, at one or more sizes. Users are
// seeded in one statement; two data-service replicas take reads round-robin and user-service
// takes 2% PATCH writes, all at a fixed rate (open loop). Per size it reports throughput,
// latency per operation, the share of reads that reached PostgreSQL, stale reads, each
// service's RSS, Redis memory per cached user and the in-process tier against its bounds, into
// the "Realistic workload" section of bench/RESULTS.md. Measures and reports; asserts nothing.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createScratchBackends, type ScratchBackends } from '../scripts/scratch-backends.ts';
import { migrateAndSeed, SEEDED_PREFIX } from './database.ts';
import { cores, cpuModel, killAll, loadAverage, parseResult, pinned, pinning, rssMb, runBench, runCommand, type Server, startServer, watchRss } from './processes.ts';
import { freePort } from '../scripts/free-port.ts';
import { signWriteToken } from './realistic/jwt.ts';
import type { GeneratorConfig } from './realistic/load-generator.ts';
import { keysUnder, usedMemory } from './realistic/redis-memory.ts';
import { appendRuns, renderRealistic, runRows, spliceRealistic, type LocalTier, type SizeResult } from './realistic/report.ts';
import { notableLogLines } from './realistic/service-log.ts';

const { values: options } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    rate: { type: 'string', default: '4000' },
    seconds: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '15' },
    writes: { type: 'string', default: '0.02' },
    unknown: { type: 'string', default: '0.05' },
    zipf: { type: 'string', default: '1' },
    label: { type: 'string', default: 'full run' },
    // off: user-service answers writes after the Redis eviction alone (WRITES_AWAIT_REPLICAS=false).
    acks: { type: 'string', default: 'on' },
  },
});
const number = (name: keyof typeof options) => {
  const value = Number(options[name]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} expects a number, got ${options[name]}`);
  return value;
};
const sizes = String(options.sizes).split(',').map((size) => {
  const users = Number(size.replace(/_/g, '').replace(/k$/i, '000').replace(/m$/i, '000000'));
  if (!Number.isInteger(users) || users < 1_000) throw new Error(`--sizes expects user counts of at least 1000 (e.g. 100k,1m,10m), got ${size}`);
  return users;
});
if (options.acks !== 'on' && options.acks !== 'off') throw new Error(`--acks expects on or off, got ${options.acks}`);
const awaitReplicas = options.acks === 'on';
const load = {
  rate: number('rate'),
  seconds: number('seconds'),
  warmupSeconds: number('warmup'),
  writeShare: number('writes'),
  unknownShare: number('unknown'),
  zipfExponent: number('zipf'),
};

const runId = randomBytes(3).toString('hex');
const logDir = mkdtempSync(join(tmpdir(), 'bench-realistic-'));
// The secret user-service checks write tokens with, once it does; a fresh one per run unless given.
const jwtSecret = process.env.JWT_SECRET || randomBytes(32).toString('hex');
const jwtClaims = { issuer: process.env.JWT_ISSUER || undefined, audience: process.env.JWT_AUDIENCE || undefined };
const probe = new URL('./realistic/local-tier-probe.mjs', import.meta.url).pathname;

const servers = new Set<Server>();
const scratches = new Set<ScratchBackends>();

async function start(name: string, script: string, port: number, env: Record<string, string>, nodeOptions: string[] = []): Promise<Server> {
  const server = await startServer({ name, args: [script], port, env: { LOG_LEVEL: 'info', ...env }, logFile: join(logDir, `${name}.log`), nodeOptions });
  servers.add(server);
  return server;
}

async function runSize(users: number): Promise<SizeResult> {
  const scratch = await createScratchBackends(`bench_${users}`);
  scratches.add(scratch);
  const { database, keyPrefix: prefix } = scratch;
  const seed = await migrateAndSeed(database, users);
  process.stdout.write(`${users} users: seeded in ${((seed.migrateMs + seed.insertMs + seed.analyzeMs) / 1000).toFixed(1)} s (insert ${(seed.insertMs / 1000).toFixed(1)} s)\n`);

  const redisBefore = await usedMemory();
  const common = scratch.env;
  const tierFiles = [1, 2].map((n) => join(logDir, `local-tier-${users}-${n}.json`));
  const replicas: Server[] = [];
  for (const [i, tierFile] of tierFiles.entries()) {
    replicas.push(await start(`data-service-${i + 1}`, 'dist/services/data/src/main.js', await freePort(), { ...common, BENCH_LOCAL_TIER_FILE: tierFile }, ['--import', probe]));
  }
  const user = await start('user-service', 'dist/services/user/src/main.js', await freePort(), { ...common, WRITES_AWAIT_REPLICAS: String(awaitReplicas), JWT_SECRET: jwtSecret, ...(jwtClaims.issuer ? { JWT_ISSUER: jwtClaims.issuer } : {}), ...(jwtClaims.audience ? { JWT_AUDIENCE: jwtClaims.audience } : {}) });
  const all = [...replicas, user];
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const idle = all.map((server) => rssMb(server.pid));
  const peaks = all.map((server) => watchRss(server.pid));

  const config: GeneratorConfig = {
    readUrls: replicas.map((replica) => replica.url),
    writeUrl: user.url,
    rate: load.rate,
    warmupSeconds: load.warmupSeconds,
    seconds: load.seconds,
    users,
    namePrefix: SEEDED_PREFIX,
    zipfExponent: load.zipfExponent,
    unknownShare: load.unknownShare,
    // Unknown names repeat too (typos, stale links, scans): a tenth as many as the users, Zipf-drawn.
    unknownNames: Math.max(1_000, Math.round(users / 10)),
    unknownPrefix: 'nobody-',
    writeShare: load.writeShare,
    seed: users,
  };
  const [command, argv] = pinned(pinning.load, process.execPath, ['bench/realistic/load-generator.ts', JSON.stringify(config)]);
  const output = await runCommand(command, argv, { BENCH_WRITE_TOKEN: signWriteToken(jwtSecret, jwtClaims) }, (load.warmupSeconds + load.seconds + 60) * 1000);
  const generated = parseResult<SizeResult['load']>(output, 'load generator');
  const peakRss = peaks.map((peak) => peak());

  const keys = await keysUnder(prefix);
  const redisAfter = await usedMemory();
  for (const server of all) {
    await server.stop();
    servers.delete(server);
  }
  const localTier = tierFiles.map((file) => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LocalTier[]) : []));
  await scratch.dispose();
  scratches.delete(scratch);

  const result: SizeResult = {
    users,
    seed,
    load: generated,
    rss: all.map((server, i) => ({ server: server.name, idleMb: idle[i]!, peakMb: peakRss[i]! })),
    redis: { beforeBytes: redisBefore, afterBytes: redisAfter, keys },
    localTier: replicas.map((replica, i) => ({ server: replica.name, caches: localTier[i]! })),
    warnings: all.map((server) => ({ server: server.name, counts: notableLogLines(server.logFile) })),
  };
  process.stdout.write(
    `  ${Math.round(generated.operations / generated.seconds)} ops/s; read p99 ${generated.read.p99Ms.toFixed(2)} ms, write p99 ${generated.write.p99Ms.toFixed(2)} ms; ` +
      `reads to PostgreSQL ${(100 * generated.reachedPostgres.reads).toFixed(1)}%; stale ${generated.staleness.stale} of ${generated.staleness.checked} checked\n`,
  );
  return result;
}

async function main() {
  if (!existsSync('dist/services/data/src/main.js')) throw new Error('run `npm run build` first (npm run bench:realistic does)');
  process.stdout.write(`realistic ${runId}: ${cores} cores, node ${process.version}, sizes ${sizes.join(', ')}, ${load.rate} ops/s for ${load.warmupSeconds} + ${load.seconds} s; logs in ${logDir}\n`);
  const loadAtStart = loadAverage();
  const results: SizeResult[] = [];
  for (const users of sizes) results.push(await runSize(users));

  const input = {
    label: String(options.label),
    command: `npm run bench:realistic -- ${process.argv.slice(2).map((arg) => (/\s/.test(arg) ? `'${arg}'` : arg)).join(' ')}`.trim(),
    machine: { cores, cpu: cpuModel(), node: process.version, date: new Date().toISOString(), pinning: pinning.note, loadAverage: `${loadAtStart} at the start, ${loadAverage()} at the end` },
    load,
    results,
  };
  const section = renderRealistic(input);
  process.stdout.write(`\n${section}`);
  const file = 'bench/RESULTS.md';
  const spliced = spliceRealistic(existsSync(file) ? readFileSync(file, 'utf8') : '', section);
  writeFileSync(file, appendRuns(spliced, runRows(input, awaitReplicas ? 'replicas' : 'redis only')));
  process.stdout.write(`\nwritten to ${file} (section "Realistic workload")\n`);
}

/** A port nothing listens on now: fixed ports would collide with other benchmarks and tests. */



async function cleanUp() {
  for (const server of servers) await server.stop().catch(() => {});
  killAll();
  for (const scratch of scratches) {
    await scratch.dispose().catch((error: unknown) => process.stderr.write(`could not remove ${scratch.database} and ${scratch.keyPrefix}*: ${(error as Error).message}\n`));
  }
}

// Seeding 10,000,000 users takes minutes; the watchdog allows for it on top of the load itself.
const watchdogMs = sizes.reduce((sum, users) => sum + 120_000 + users / 20 + (load.warmupSeconds + load.seconds) * 1000, 0);
await runBench('realistic benchmark', { main, cleanUp, watchdogMs, logDir });

// The "Realistic workload" section of bench/RESULTS.md: written by `npm run bench:realistic`,
// kept as it is by `npm run bench` (which rewrites the rest of the file).
import type { SeedTiming } from '../database.ts';
import type { StaleRead } from './staleness.ts';

const START = '<!-- realistic-workload: written by `npm run bench:realistic`; `npm run bench` keeps it -->';
const END = '<!-- /realistic-workload -->';
export const FULL_RUN = 'npm run bench:realistic -- --sizes 100k,1m,10m';
/** A generator this late (p99) to its own schedule is starved: its numbers are partly the machine's. */
const LATE_SEND_MS = 5;

interface Latency {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export interface LocalTier {
  maxEntries: number;
  maxSize: number;
  peakEntries: number;
  peakSize: number;
}

export interface SizeResult {
  users: number;
  seed: SeedTiming;
  load: {
    seconds: number;
    operations: number;
    read: Latency;
    readUnknown: Latency;
    write: Latency;
    reachedPostgres: { reads: number; known: number; unknown: number };
    perReplica: number[];
    unsettled: number;
    failures: Record<string, number>;
    tickLag: Latency;
    connectionWait: Latency;
    writesAcknowledged: number;
    staleness: { checked: number; stale: number; fromCache: number; latestAfterAckMs: number; examples: StaleRead[] };
  };
  rss: { server: string; idleMb: number; peakMb: number }[];
  redis: { beforeBytes: number; afterBytes: number; keys: { values: number; generations: number; meanValueBytes: number; sampled: number } };
  localTier: { server: string; caches: LocalTier[] }[];
  warnings: { server: string; counts: Record<string, number> }[];
}

export interface RealisticInput {
  label: string;
  command: string;
  machine: { cores: number; cpu: string; node: string; date: string; pinning: string; loadAverage: string };
  load: { rate: number; seconds: number; warmupSeconds: number; writeShare: number; unknownShare: number; zipfExponent: number };
  results: SizeResult[];
}

const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const percent = (share: number) => (Number.isFinite(share) ? `${(100 * share).toFixed(1)}%` : 'n/a');
const count = (n: number) => n.toLocaleString('en-US');
const mb = (bytes: number) => fixed(bytes / (1024 * 1024), 1);

export function renderRealistic({ label, command, machine, load, results }: RealisticInput): string {
  const lines: string[] = [START, `## Realistic workload (${label})`, ''];
  lines.push(`${machine.date} · ${machine.cores} cores (${machine.cpu}) · Node ${machine.node} · load average ${machine.loadAverage}`, '');
  lines.push(`Command: \`${command}\`. The full run, for a quiet machine: \`${FULL_RUN}\`.`, '');
  const starved = results.filter((r) => r.load.tickLag.p99Ms > LATE_SEND_MS);
  if (starved.length) {
    lines.push(
      `**The load generator itself fell behind** at ${starved.map((r) => `${count(r.users)} users (p99 ${fixed(r.load.tickLag.p99Ms, 0)} ms late)`).join(', ')}: ` +
        'its core was busy with other work, so the latencies below include the machine\'s overload, not only the services\'.',
      '',
    );
  }
  lines.push(
    `Load: ${count(load.rate)} operations/s on a fixed schedule (open loop), ${load.warmupSeconds} s warm-up then ${load.seconds} s measured; ` +
      `${percent(load.writeShare)} PATCH /user/:name through user-service, the rest GET /user/:name split round-robin over two data-service replicas; ` +
      `names drawn from a Zipf distribution (s = ${load.zipfExponent}) over the seeded users, ${percent(load.unknownShare)} of reads for unknown names ` +
      `(Zipf over a tenth as many names as users).`,
    '',
  );

  lines.push('| users | operation | ops/s | count | p50 ms | p99 ms | p99.9 ms | max ms |');
  lines.push('|--:|---|--:|--:|--:|--:|--:|--:|');
  for (const r of results) {
    lines.push(`| ${count(r.users)} | all | ${Math.round(r.load.operations / r.load.seconds)} | ${count(r.load.operations)} | | | | |`);
    for (const [name, latency] of [['read (known name)', r.load.read], ['read (unknown name, 404)', r.load.readUnknown], ['write (PATCH)', r.load.write]] as const) {
      lines.push(`| | ${name} | ${Math.round(latency.count / r.load.seconds)} | ${count(latency.count)} | ${fixed(latency.p50Ms)} | ${fixed(latency.p99Ms)} | ${fixed(latency.p999Ms)} | ${fixed(latency.maxMs)} |`);
    }
  }
  lines.push('');

  lines.push('| users | reads that reached PostgreSQL (known / unknown) | stale reads / reads checked | stale: served by a cache tier, latest sent after the ack | writes acknowledged | failures | generator late, p99 / max | waiting for a connection, p99 / max |');
  lines.push('|--:|---|--:|---|--:|---|--:|--:|');
  for (const r of results) {
    const failures = Object.entries(r.load.failures).map(([what, n]) => `${what}: ${n}`);
    if (r.load.unsettled) failures.push(`unanswered: ${r.load.unsettled}`);
    lines.push(
      `| ${count(r.users)} | ${percent(r.load.reachedPostgres.reads)} (${percent(r.load.reachedPostgres.known)} / ${percent(r.load.reachedPostgres.unknown)}) | ` +
        `**${r.load.staleness.stale}** / ${count(r.load.staleness.checked)} | ${r.load.staleness.stale ? `${r.load.staleness.fromCache} HIT, ${fixed(r.load.staleness.latestAfterAckMs, 1)} ms` : ''} | ${count(r.load.writesAcknowledged)} | ${failures.join(', ') || 'none'} | ${fixed(r.load.tickLag.p99Ms)} / ${fixed(r.load.tickLag.maxMs)} ms | ${fixed(r.load.connectionWait.p99Ms)} / ${fixed(r.load.connectionWait.maxMs)} ms |`,
    );
  }
  lines.push('');
  for (const r of results) {
    const warned = r.warnings.flatMap(({ server, counts }) => Object.entries(counts).map(([what, n]) => `${server} ${what} ×${n}`));
    lines.push(`Warnings the services logged (${count(r.users)} users): ${warned.join('; ') || 'none'}.`, '');
  }
  const stale = results.flatMap((r) => r.load.staleness.examples.map((e) => ({ users: r.users, ...e })));
  if (stale.length) {
    lines.push('Stale reads seen (first ones per size): ' + stale.map((e) => `${e.name} returned write ${e.returned} instead of ${e.expected} (X-Cache ${e.cache ?? 'absent'}), sent ${fixed(e.sentAfterAckMs, 3)} ms after the acknowledgement`).join('; ') + '.', '');
  }

  lines.push('| users | seed s (insert) | RSS idle → peak MB | Redis Δ used_memory MB | cached answers | Δ bytes per cached answer | MEMORY USAGE per cached answer | local tier peak entries / bound, size / bound |');
  lines.push('|--:|--:|---|--:|--:|--:|--:|---|');
  for (const r of results) {
    const seedSeconds = (r.seed.migrateMs + r.seed.insertMs + r.seed.analyzeMs) / 1000;
    const rss = r.rss.map((s) => `${s.server} ${fixed(s.idleMb, 0)} → ${fixed(s.peakMb, 0)}`).join('<br>');
    const delta = r.redis.afterBytes - r.redis.beforeBytes;
    const tiers = r.localTier.map(({ server, caches }) => {
      if (caches.length === 0) return `${server}: not observed`;
      return caches
        .map((c) => `${server}: ${count(c.peakEntries)} / ${count(c.maxEntries)}, ${mb(c.peakSize)} / ${mb(c.maxSize)} MB (${c.peakEntries <= c.maxEntries && c.peakSize <= c.maxSize ? 'within' : '**exceeded**'})`)
        .join('; ');
    });
    lines.push(
      `| ${count(r.users)} | ${fixed(seedSeconds, 1)} (${fixed(r.seed.insertMs / 1000, 1)}) | ${rss} | ${mb(delta)} | ${count(r.redis.keys.values)} | ${r.redis.keys.values && delta > 0 ? Math.round(delta / r.redis.keys.values) : 'n/a'} | ${fixed(r.redis.keys.meanValueBytes, 0)} | ${tiers.join('<br>')} |`,
    );
  }
  lines.push('');

  lines.push('How each number was obtained:', '');
  lines.push(
    '- Seed: the project\'s migrations, then one `INSERT … SELECT … FROM generate_series` with the NOTIFY trigger skipped (nobody listens yet), then `ANALYZE`; "insert" is that one statement.',
    '- Throughput: operations answered in the measured window ÷ its length (from the first measured operation\'s scheduled time to the last answer). Latency: from each operation\'s scheduled time to its complete response, so time spent waiting for a connection or behind a stalled server counts (no coordinated omission). Warm-up operations are not counted.',
    '- Generator late: how long after its scheduled time the generator got to an operation (it ticks every millisecond, so up to about 1 ms is the schedule itself). Waiting for a connection: each target gets up to 128 keep-alive connections with one request on each at a time, so an operation waits while all are busy. Both are part of the latencies above.',
    '- Reads that reached PostgreSQL: the share of measured reads answered with `X-Cache: MISS` (data-service says MISS exactly when neither tier answered; concurrent misses of one name share one query, so this slightly over-counts queries).',
    '- Stale reads: the load generator keeps writes to one name serial and puts a fresh sequence number in each written `info`; for every read of a name sent after a write to it was acknowledged (2xx received), the answer must carry that sequence or a newer one. Stale reads, failures and writes acknowledged are counted over warm-up and measured window alike; the target for stale reads is 0.',
    '- Writes carry `Authorization: Bearer <HS256 token>` (scope `users:write`) signed with the `JWT_SECRET` given to user-service (a fresh random one unless `JWT_SECRET` is set); services that do not check tokens ignore it.',
    '- Warnings: the services\' own warn and error log lines during the run, counted by message (a Redis command timing out, for instance, sends reads to PostgreSQL for a back-off).',
    '- RSS: /proc VmRSS of each service 1 s after ready (idle) and the peak sampled every 200 ms during the load.',
    '- Redis: `INFO memory` used_memory after seeding and before the services start, and again after the load; Δ ÷ the value keys under the run\'s prefix (cached users and remembered absences). Redis is shared with other work and the services flush their keys after a missed eviction, so Δ is approximate (n/a when it came out ≤ 0); MEMORY USAGE is the mean over a sample of up to 2,000 of those keys and is exact for them. Per-name generation keys left by writes are not counted as cached answers.',
    '- Local tier: each replica runs with `node --import bench/realistic/local-tier-probe.mjs`, which watches lru-cache instances and records the peak entry count and the peak size by the tier\'s own size estimate every 100 ms; bounds are the instance\'s `max` and `maxSize` (LOCAL_CACHE_MAX_ENTRIES, LOCAL_CACHE_MAX_BYTES).',
    `- ${machine.pinning}; both replicas and user-service share the server core.`,
  );
  lines.push(END);
  return `${lines.join('\n')}\n`;
}

/** `existing` with its realistic section replaced by `section`, or `section` appended. */
export function spliceRealistic(existing: string, section: string): string {
  const start = existing.indexOf(START);
  const end = existing.indexOf(END);
  if (start >= 0 && end > start) return `${existing.slice(0, start)}${section}${existing.slice(end + END.length).replace(/^\n/, '')}`;
  return `${existing.replace(/\n*$/, '\n\n')}${section}`;
}

/** The realistic section of `existing` (with a leading blank line), or '' when it has none. */
export function keptRealistic(existing: string): string {
  const start = existing.indexOf(START);
  const end = existing.indexOf(END);
  return start >= 0 && end > start ? `\n${existing.slice(start, end + END.length)}\n` : '';
}

export const RUNS_START = '<!-- realistic runs: every run of `npm run bench:realistic` appends its rows -->';
export const RUNS_END = '<!-- /realistic runs -->';
const RUNS_HEADER = [
  '## Realistic workload: every run',
  '',
  'One row per size and run, appended by each `npm run bench:realistic` (the section above shows only the latest run in full). Write acknowledgement: `replicas` waits for every data-service replica (the default), `redis only` is `--acks off` (WRITES_AWAIT_REPLICAS=false), the mechanism switched off.',
  '',
  '| date (UTC) | label | write acknowledgement | users | ops/s | read p50 / p99 ms | write p50 / p99 ms | stale reads / checked | load average start, end |',
  '|---|---|---|--:|--:|--:|--:|--:|---|',
];

/** One table row per size of this run. */
export function runRows({ label, machine, results }: RealisticInput, acknowledgement: string): string[] {
  return results.map(
    (r) =>
      `| ${machine.date.slice(0, 16).replace('T', ' ')} | ${label} | ${acknowledgement} | ${count(r.users)} | ${Math.round(r.load.operations / r.load.seconds)} | ${fixed(r.load.read.p50Ms)} / ${fixed(r.load.read.p99Ms)} | ${fixed(r.load.write.p50Ms)} / ${fixed(r.load.write.p99Ms)} | **${r.load.staleness.stale}** / ${count(r.load.staleness.checked)} | ${machine.loadAverage} |`,
  );
}

/** `existing` with `rows` added to the every-run table (made when absent). */
export function appendRuns(existing: string, rows: string[]): string {
  const start = existing.indexOf(RUNS_START);
  const end = existing.indexOf(RUNS_END);
  if (start >= 0 && end > start) {
    const before = existing.slice(0, end).replace(/\n*$/, '\n');
    return `${before}${rows.join('\n')}\n${existing.slice(end)}`;
  }
  return `${existing.replace(/\n*$/, '\n\n')}${[RUNS_START, ...RUNS_HEADER, ...rows, RUNS_END].join('\n')}\n`;
}

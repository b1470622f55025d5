import postgres from 'postgres';

/** The p-th percentile of ascending `sorted` values (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Prints the one line run.ts reads back from a helper process: counts and latency percentiles. */
export function printResult(latencies: number[], seconds: number, extra: Record<string, number>): void {
  latencies.sort((a, b) => a - b);
  const result = {
    requests: latencies.length,
    rps: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    ...extra,
  };
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

/** A postgres.js pool from the standard PG* variables, as the comparison programs use it. */
export function poolFromEnv(env: NodeJS.ProcessEnv = process.env): postgres.Sql {
  return postgres({
    host: env.PGHOST ?? '127.0.0.1',
    port: Number(env.PGPORT ?? 5432),
    database: env.PGDATABASE ?? 'postgres',
    username: env.PGUSER ?? 'postgres',
    password: env.PGPASSWORD || undefined,
    max: Number(env.PG_POOL_MAX ?? 10),
    onnotice: () => {},
  });
}

// The baseline for POST /register: the same insert user-service runs, issued by CONCURRENCY
// workers in a loop on a bare postgres.js pool of the same size. Prints one JSON line.
import { poolFromEnv, printResult } from './stats.ts';

const env = process.env;
const concurrency = Number(env.CONCURRENCY ?? 64);
const warmupMs = Number(env.WARMUP_MS ?? 2_000);
const durationMs = Number(env.DURATION_MS ?? 10_000);
const prefix = env.NAME_PREFIX ?? `insert-${process.pid}-`;

const sql = poolFromEnv(env);

let next = 0;
async function run(untilMs: number, latencies?: number[]): Promise<number> {
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < untilMs) {
        const name = `${prefix}${next++}`;
        const started = performance.now();
        try {
          await sql`
            insert into users (name, info) values (${name}, ${'registered by the benchmark'})
            on conflict (name) do nothing
            returning name, info, created_at, updated_at`;
          latencies?.push(performance.now() - started);
        } catch {
          errors++;
        }
      }
    }),
  );
  return errors;
}

await run(performance.now() + warmupMs);
const latencies: number[] = [];
const started = performance.now();
const errors = await run(started + durationMs, latencies);
const seconds = (performance.now() - started) / 1000;
printResult(latencies, seconds, { errors });
await sql.end({ timeout: 1 });

// The realistic benchmark's load generator against the real services: it must see a stale read
// when one happens, and account for every operation it sends. Asserts counts, never latency.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResult, runCommand } from '../../bench/processes.ts';
import type { GeneratorConfig } from '../../bench/realistic/load-generator.ts';
import type { SizeResult } from '../../bench/realistic/report.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { authHeader, startData, startUser, waitFor } from '../support/services.ts';

const USERS = 200;
let db: TestDatabase;
let user: Awaited<ReturnType<typeof startUser>>;
let replicas: Awaited<ReturnType<typeof startData>>[];

beforeAll(async () => {
  db = await createTestDatabase('bench_generator');
  user = await startUser(db.name);
  await user.migrated;
  await db.sql`insert into users (name, info) select 'u' || g, 'seeded' from generate_series(1, ${USERS}::int) g`;
  // A long in-process TTL: only an eviction can make a replica drop what it holds.
  replicas = await Promise.all([startData(db.name, { LOCAL_CACHE_TTL_MS: 60_000 }), startData(db.name, { LOCAL_CACHE_TTL_MS: 60_000 })]);
  for (const replica of replicas) await waitFor(async () => (await fetch(`${replica.url}/health/ready`)).status === 200);
});

afterAll(async () => {
  await Promise.all([user?.stop(), ...(replicas ?? []).map((replica) => replica.stop())]);
  await db?.drop();
});

async function generate(overrides: Partial<GeneratorConfig>): Promise<SizeResult['load']> {
  const config: GeneratorConfig = {
    readUrls: replicas.map((replica) => replica.url),
    writeUrl: user.url,
    rate: 300,
    warmupSeconds: 0,
    seconds: 1,
    users: USERS,
    namePrefix: 'u',
    zipfExponent: 1,
    unknownShare: 0.1,
    unknownNames: 50,
    unknownPrefix: 'nobody-',
    writeShare: 0.1,
    seed: 1,
    ...overrides,
  };
  // Writes carry the test services' own write token, as the benchmark's carry one signed with its key.
  const token = (await authHeader()).authorization.replace(/^Bearer /, '');
  const output = await runCommand(process.execPath, ['bench/realistic/load-generator.ts', JSON.stringify(config)], { BENCH_WRITE_TOKEN: token }, 60_000);
  return parseResult<SizeResult['load']>(output, 'load generator');
}

describe('realistic load generator', () => {
  it('answers for every operation it sends, split over both replicas, with misses seen by X-Cache', async () => {
    const result = await generate({ seed: 2 });
    expect(result.unsettled).toBe(0);
    expect(result.failures).toEqual({});
    expect(result.operations).toBe(300);
    expect(result.read.count + result.readUnknown.count + result.write.count).toBe(300);
    expect(result.write.count).toBeGreaterThan(0);
    expect(result.writesAcknowledged).toBe(result.write.count);
    expect(Math.abs(result.perReplica[0]! - result.perReplica[1]!)).toBeLessThanOrEqual(1);
    // The first read of every name misses both tiers; later reads of popular names do not.
    expect(result.reachedPostgres.unknown).toBeGreaterThan(0);
    expect(result.reachedPostgres.known).toBeGreaterThan(0);
    expect(result.reachedPostgres.known).toBeLessThan(1);
    expect(result.staleness.checked).toBeGreaterThan(0);
  });

  it('reports stale reads when the replicas cannot hear writes', async () => {
    // Without the NOTIFY trigger, and with writes through a user-service whose evictions and write
    // log go to other Redis keys, each replica keeps serving what its own tiers hold after a write.
    await db.sql`alter table users disable trigger users_notify_change`;
    const elsewhere = await startUser(db.name, { REDIS_KEY_PREFIX: `test:${db.name}:elsewhere:`, MIGRATE_ON_START: 'false' });
    try {
      const result = await generate({ seed: 3, seconds: 2, writeUrl: elsewhere.url });
      expect(result.failures).toEqual({});
      expect(result.staleness.stale).toBeGreaterThan(0);
      expect(result.staleness.fromCache).toBe(result.staleness.stale);
      expect(result.staleness.examples[0]).toMatchObject({ cache: 'HIT' });
      expect(result.staleness.examples[0]!.returned).toBeLessThan(result.staleness.examples[0]!.expected);
    } finally {
      await elsewhere.stop();
      await db.sql`alter table users enable trigger users_notify_change`;
    }
  });
});

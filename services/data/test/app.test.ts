// The data app alone, through app.request(), with the lookup replaced: what each lookup outcome
// looks like to a client. (The real tiers are exercised in read-path and failures tests.)
import { describe, expect, it } from 'vitest';
import { createLogger, createMetrics } from '../../shared/src/observability/index.ts';
import type { User } from '../../shared/src/api/index.ts';
import { createDataApp } from '../src/app.ts';
import type { LookupResult, UserLookup } from '../src/user-lookup.ts';
import type { UserQueries } from '../src/user-queries.ts';

const amit: User = { name: 'Amit', info: 'x', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-02T00:00:00.000Z' };

function appAnswering(get: (name: string) => Promise<LookupResult>) {
  const lookup = { get, peekLocal: () => undefined, invalidate: () => {}, forgetAll: () => {} } as unknown as UserLookup;
  const queries: UserQueries = { findByName: async () => null, page: async () => ({ users: [], next: null }) };
  return createDataApp({
    lookup,
    queries,
    logger: createLogger('data-service', 'silent'),
    metrics: createMetrics('data-service'),
    lifecycle: { shuttingDown: false },
    readiness: async () => ({ ready: true, checks: {} }),
  });
}

describe('GET /user/:name, by lookup outcome', () => {
  it.each([
    [true, 'HIT'],
    [false, 'MISS'],
  ] as const)('cached: %s answers 200 with X-Cache: %s', async (cached, header) => {
    const res = await appAnswering(async () => ({ user: amit, cached, tier: cached ? 'redis' : 'postgres' })).request('/user/Amit');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache')).toBe(header);
    expect(await res.json()).toEqual({ ...amit, cached });
  });

  it('no such user answers a problem+json 404, still saying where the answer came from', async () => {
    const res = await appAnswering(async () => ({ user: null, cached: true, tier: 'local' })).request('/user/Ghost');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('x-cache')).toBe('HIT');
    expect(await res.json()).toMatchObject({ status: 404, detail: 'no user named "Ghost"', instance: '/user/Ghost' });
  });

  it('PostgreSQL unreachable answers 503 with Retry-After and no internal detail', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:5432'), { code: 'ECONNREFUSED' });
    const res = await appAnswering(async () => Promise.reject(refused)).request('/user/Amit');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.text()).not.toContain('10.0.0.7');
  });

  it('trims and NFC-normalizes the name before the lookup', async () => {
    const asked: string[] = [];
    const app = appAnswering(async (name) => {
      asked.push(name);
      return { user: null, cached: false, tier: 'postgres' };
    });
    await app.request(`/user/${encodeURIComponent(' Zoe\u0301 ')}`);
    expect(asked).toEqual(['Zoé']);
  });
});

describe('query parameters: an unknown one is rejected, as an unknown body field is', () => {
  it.each([
    ['/users?limt=5', 'limt'],
    ['/users?limit=5&sort=desc', 'sort'],
    ['/user/Amit?fresh=1', 'fresh'],
  ])('%s answers 400 naming %s', async (path, parameter) => {
    const asked: string[] = [];
    const res = await appAnswering(async (name) => {
      asked.push(name);
      return { user: amit, cached: false, tier: 'postgres' as const };
    }).request(path);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await res.json() as any).errors).toEqual([{ in: 'query', field: parameter, message: 'is not a known query parameter' }]);
    expect(asked).toEqual([]);
  });

  it.each([
    ['/users?limit=abc', 'must be a number'],
    ['/users?limit=0', 'must be at least 1'],
    ['/users?limit=101', 'must be at most 100'],
    ['/users?limit=2.5', 'must be an integer'],
  ])('%s answers 400: limit %s', async (path, message) => {
    const res = await appAnswering(async () => ({ user: amit, cached: false, tier: 'postgres' as const })).request(path);
    expect(res.status).toBe(400);
    expect((await res.json() as any).errors).toEqual([{ in: 'query', field: 'limit', message }]);
  });
});

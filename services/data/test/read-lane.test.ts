// GET /user/:name for plain names is answered before the Hono app (read-lane.ts). A client and an
// operator must not be able to tell: the same answer, request id, access log line and metrics
// as the app gives, and never a stale entry after a write.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.ts';
import { patchJson, postJson, startData, startUser, waitFor } from '../../../test/support/services.ts';

let db: TestDatabase;
let user: Awaited<ReturnType<typeof startUser>>;
let data: Awaited<ReturnType<typeof startData>>;

beforeAll(async () => {
  db = await createTestDatabase('fast_hits');
  user = await startUser(db.name);
  await user.migrated;
  // debug: every request gets an access line, so the lane's and the app's can be compared.
  data = await startData(db.name, { LOCAL_CACHE_TTL_MS: 60_000, LOG_LEVEL: 'debug' });
  await waitFor(async () => (await fetch(`${data.url}/health/ready`)).status === 200);
});

afterAll(async () => {
  await Promise.all([user?.stop(), data?.stop()]);
  await db?.drop();
});

const read = async (path: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${data.url}${path}`, { headers });
  return { res, body: (await res.json()) as Record<string, unknown> };
};

/** Until the in-process tier holds the name (a register's own NOTIFY may evict the first fill). */
const warm = (name: string) => waitFor(async () => (await read(`/user/${name}`)).res.headers.get('x-cache') === 'HIT', 2_000);

const accessLines = () => data.logs.lines.filter((line) => line.msg === 'request' && line.route === '/user/:name');

describe('cache hits answered by the read lane', () => {
  it('look exactly like the app answer for the same user: status, headers, body and log line', async () => {
    await postJson(`${user.url}/register`, { name: 'fast.one', info: 'hot' });
    await warm('fast.one');

    // A percent-encoded character sends the request through the app (it decodes to the same path);
    // the plain path takes the read lane.
    const viaApp = await read('/user/fast%2Eone');
    const before = accessLines().length;
    const fast = await read('/user/fast.one');

    expect(fast.res.status).toBe(200);
    expect(fast.body).toEqual(viaApp.body);
    expect(fast.body).toMatchObject({ name: 'fast.one', info: 'hot', cached: true });
    for (const header of ['content-type', 'x-cache']) expect(fast.res.headers.get(header)).toBe(viaApp.res.headers.get(header));
    expect(fast.res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const [line] = accessLines().slice(before);
    const appLine = accessLines().at(before - 1)!;
    expect(line).toMatchObject({ level: 'debug', method: 'GET', path: '/user/fast.one', status: 200, requestId: fast.res.headers.get('x-request-id') });
    expect(Object.keys(line!)).toEqual(Object.keys(appLine));
  });

  it('keep a valid caller request id and replace an invalid one, as the app does', async () => {
    await warm('fast.one');
    const kept = await read('/user/fast.one', { 'x-request-id': 'trace-42=a_b' });
    expect(kept.res.headers.get('x-cache')).toBe('HIT');
    expect(kept.res.headers.get('x-request-id')).toBe('trace-42=a_b');
    const replaced = await read('/user/fast.one', { 'x-request-id': 'not valid!' });
    expect(replaced.res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('are counted in the request histogram and as local hits', async () => {
    await warm('fast.one');
    const metric = async (pattern: RegExp) => Number(pattern.exec(await (await fetch(`${data.url}/metrics`)).text())?.[1] ?? 0);
    const requests = /http_server_request_duration_seconds_count\{[^}]*http_route="\/user\/:name",http_response_status_code="200"\} (\d+)/;
    const localHits = /cache_lookups_total\{tier="local",result="hit"[^}]*\} (\d+)/;
    const [requestsBefore, hitsBefore] = [await metric(requests), await metric(localHits)];
    await read('/user/fast.one');
    expect(await metric(requests)).toBe(requestsBefore + 1);
    expect(await metric(localHits)).toBe(hitsBefore + 1);
  });

  it('never serve the old info once a PATCH is acknowledged', async () => {
    await postJson(`${user.url}/register`, { name: 'fast.two', info: 'old' });
    await warm('fast.two');
    expect((await patchJson(`${user.url}/user/fast.two`, { info: 'new' })).status).toBe(200);
    // The NOTIFY arrives shortly after the commit; until then the old entry may be served, never after.
    await waitFor(async () => (await read('/user/fast.two')).body.info === 'new', 2_000);
    for (let i = 0; i < 20; i++) expect((await read('/user/fast.two')).body.info).toBe('new');
  });
});

describe('misses and 404s answered by the read lane', () => {
  const withoutRequestId = ({ requestId: _, ...rest }: Record<string, unknown>) => rest;

  it('read through the tiers on a miss, then serve from the cache', async () => {
    const invalidations = async () => Number(/^cache_invalidations_total(?:\{[^}]*\})? (\d+)$/m.exec(await (await fetch(`${data.url}/metrics`)).text())?.[1] ?? 0);
    const before = await invalidations();
    await db.sql`insert into users (name, info) values ('lane.miss', 'from postgres')`;
    // The insert's NOTIFY must have been handled first, or it may evict the fill below.
    await waitFor(async () => (await invalidations()) > before);
    const first = await read('/user/lane.miss');
    expect(first.res.status).toBe(200);
    expect(first.res.headers.get('x-cache')).toBe('MISS');
    expect(first.body).toMatchObject({ name: 'lane.miss', info: 'from postgres', cached: false });
    expect(first.res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const second = await read('/user/lane.miss');
    expect(second.res.headers.get('x-cache')).toBe('HIT');
    expect(second.body).toEqual({ ...first.body, cached: true });
  });

  it("answer an unknown name with the app's 404, uncached then cached", async () => {
    const viaApp = await read('/user/lane%2Enobody');
    const uncached = await read('/user/lane.nobody.else', { 'x-request-id': 'lane-404' });
    const cached = await read('/user/lane.nobody');

    for (const answer of [viaApp, uncached, cached]) {
      expect(answer.res.status).toBe(404);
      expect(answer.res.headers.get('content-type')).toBe('application/problem+json');
    }
    expect(viaApp.res.headers.get('x-cache')).toBe('MISS');
    expect(uncached.res.headers.get('x-cache')).toBe('MISS');
    expect(cached.res.headers.get('x-cache')).toBe('HIT');
    expect(withoutRequestId(cached.body)).toEqual(withoutRequestId(viaApp.body));
    expect(uncached.body).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'no user named "lane.nobody.else"',
      instance: '/user/lane.nobody.else',
      requestId: 'lane-404',
    });
    expect(cached.body.requestId).toBe(cached.res.headers.get('x-request-id'));
  });

  it('leave names that need decoding, other methods and other paths to the app', async () => {
    await postJson(`${user.url}/register`, { name: 'lane é', info: 'encoded' });
    const encoded = await read(`/user/${encodeURIComponent('lane é')}`);
    expect(encoded.res.status).toBe(200);
    expect(encoded.body).toMatchObject({ name: 'lane é', info: 'encoded' });
    const tooLong = await read(`/user/${'x'.repeat(101)}`);
    expect(tooLong.res.status).toBe(400);
    const head = await fetch(`${data.url}/user/lane.miss`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });
});

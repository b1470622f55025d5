// Tracing as a collector sees it: both services export OTLP/HTTP to a receiver in this test (a
// node:http server decoding the JSON export, as a collector's OTLP/HTTP receiver would), against
// the real PostgreSQL and Redis. Then: nothing of OpenTelemetry is loaded when tracing is off.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../services/shared/src/config/index.ts';
import { createLogger, tracesEndpoint } from '../services/shared/src/observability/index.ts';
import { dataEnv } from '../services/data/src/config.ts';
import { migrate } from '../services/user/src/migrate.ts';
import { createTestDatabase, type TestDatabase } from './support/postgres.ts';
import { authHeader, postJson, startData, startUser, testEnv, waitFor } from './support/services.ts';

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status: { code?: number };
}

type AnyValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value: AnyValue };

/** OTLP/JSON attribute lists as plain objects (int64 values may arrive as strings). */
function attributesOf(list: KeyValue[] = []): Record<string, unknown> {
  return Object.fromEntries(
    list.map(({ key, value }) => [
      key,
      value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.boolValue ?? value.doubleValue)),
    ]),
  );
}

/** A minimal OTLP/HTTP traces receiver: POST /v1/traces with an ExportTraceServiceRequest in JSON. */
async function startReceiver() {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    contentTypes.push(req.headers['content-type'] ?? '');
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      resourceSpans: { resource: { attributes: KeyValue[] }; scopeSpans: { spans: (Omit<ReceivedSpan, 'service' | 'attributes'> & { attributes: KeyValue[] })[] }[] }[];
    };
    for (const { resource, scopeSpans } of body.resourceSpans) {
      const service = String(attributesOf(resource.attributes)['service.name']);
      for (const { spans: received } of scopeSpans) {
        for (const span of received) spans.push({ ...span, service, parentSpanId: span.parentSpanId ?? '', attributes: attributesOf(span.attributes) });
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, spans, contentTypes, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let db: TestDatabase;

/** The spans of one trace, once its request span (no parent in this service) has arrived. */
async function traceOf(traceId: string, rootName: string): Promise<ReceivedSpan[]> {
  await waitFor(() => receiver.spans.some((span) => span.traceId === traceId && span.name === rootName), 5_000, 20);
  // Child spans end before their request span, so they are in the same or an earlier batch.
  return receiver.spans.filter((span) => span.traceId === traceId);
}

const SERVER = 2;
const CLIENT = 3;
const traceparent = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`;
const randomHex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');

beforeAll(async () => {
  receiver = await startReceiver();
  db = await createTestDatabase('tracing');
  await migrate(db.sql, createLogger('test', 'silent'));
  // Written before any data-service listens, so no NOTIFY races the first read.
  await db.sql`insert into users (name, info) values ('traced.read', 'from postgres')`;
  // The SDK's own variable: export every 50 ms instead of every 5 s.
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
});

afterAll(async () => {
  await receiver?.close();
  await db?.drop();
});

describe('with an OTLP endpoint', () => {
  let user: Awaited<ReturnType<typeof startUser>>;
  let data: Awaited<ReturnType<typeof startData>>;
  let redisOnly: Awaited<ReturnType<typeof startData>>;

  beforeAll(async () => {
    // The traces-specific variable is used as given, the general one gets /v1/traces appended.
    user = await startUser(db.name, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces` });
    await user.migrated;
    // debug: reads get an access line too.
    data = await startData(db.name, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, LOG_LEVEL: 'debug', LOCAL_CACHE_TTL_MS: 60_000 });
    // No in-process tier: its hits come from Redis.
    redisOnly = await startData(db.name, { OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/`, LOCAL_CACHE_TTL_MS: 0 });
    await waitFor(async () => (await fetch(`${data.url}/health/ready`)).status === 200);
    await waitFor(async () => (await fetch(`${redisOnly.url}/health/ready`)).status === 200);
  });

  afterAll(async () => {
    await Promise.all([user?.stop(), data?.stop(), redisOnly?.stop()]);
  });

  it('a user-service write: the request span continues the caller trace; INSERT and the Redis eviction are its children, and its event carries it on', async () => {
    const [traceId, callerSpan] = [randomHex(16), randomHex(8)];
    const res = await postJson(`${user.url}/register`, { name: 'traced.write', info: 'x' }, { headers: { 'content-type': 'application/json', ...(await authHeader()), traceparent: traceparent(traceId, callerSpan) } });
    expect(res.status).toBe(201);

    const spans = await traceOf(traceId, 'POST /register');
    const request = spans.find((span) => span.name === 'POST /register')!;
    expect(request).toMatchObject({ service: 'user-service', parentSpanId: callerSpan, kind: SERVER });
    expect(request.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/register', 'http.response.status_code': 201, 'url.path': '/register' });

    const insert = spans.find((span) => span.name === 'INSERT users')!;
    expect(insert).toMatchObject({ parentSpanId: request.spanId, kind: CLIENT });
    expect(insert.attributes).toMatchObject({ 'db.system.name': 'postgresql', 'db.operation.name': 'INSERT', 'db.collection.name': 'users', 'db.namespace': db.name });
    // The statement, never the values sent with it.
    expect(insert.attributes['db.query.text']).toMatch(/^with created as \( insert into users \(name, info\) values \(\$1, \$2\)/);
    expect(JSON.stringify(spans)).not.toContain('traced.write');
    // The event continues the trace: a consumer's span would be a child of this request's.
    const [event] = await db.sql`select traceparent from user_events where name = 'traced.write'`;
    expect(event!.traceparent).toBe(`00-${traceId}-${request.spanId}-01`);

    // The eviction is sent without waiting, so its span may come in a later batch.
    await waitFor(() => receiver.spans.some((span) => span.traceId === traceId && span.attributes['db.system.name'] === 'redis'), 5_000, 20);
    const eviction = receiver.spans.find((span) => span.traceId === traceId && span.attributes['db.system.name'] === 'redis')!;
    expect(eviction).toMatchObject({ parentSpanId: request.spanId, kind: CLIENT });
    expect(['EVALSHA', 'EVAL']).toContain(eviction.name);

    const line = user.logs.lines.find((entry) => entry.msg === 'request' && entry.path === '/register' && entry.trace_id === traceId);
    expect(line).toMatchObject({ trace_id: traceId, span_id: request.spanId, status: 201 });
  });

  it('a data-service miss on the read lane: cache lookup (tier postgres) over Redis MGET, SELECT and the Redis fill', async () => {
    const [traceId, callerSpan] = [randomHex(16), randomHex(8)];
    const res = await fetch(`${data.url}/user/traced.read`, { headers: { traceparent: traceparent(traceId, callerSpan) } });
    expect(res.headers.get('x-cache')).toBe('MISS');

    const spans = await traceOf(traceId, 'GET /user/:name');
    const request = spans.find((span) => span.name === 'GET /user/:name')!;
    expect(request).toMatchObject({ service: 'data-service', parentSpanId: callerSpan, kind: SERVER });
    expect(request.attributes).toMatchObject({ 'http.route': '/user/:name', 'http.response.status_code': 200 });

    const lookup = spans.find((span) => span.name === 'cache lookup')!;
    expect(lookup.parentSpanId).toBe(request.spanId);
    expect(lookup.attributes).toMatchObject({ 'cache.tier': 'postgres', 'user.found': true });

    const children = spans.filter((span) => span.parentSpanId === lookup.spanId);
    // Redis was asked first, then PostgreSQL, then the answer was put in Redis.
    const byStart = children.sort((a, b) => Number(BigInt((a as unknown as { startTimeUnixNano: string }).startTimeUnixNano) - BigInt((b as unknown as { startTimeUnixNano: string }).startTimeUnixNano)));
    expect(byStart.map((span) => span.name)).toEqual(['MGET', 'SELECT users', expect.stringMatching(/^EVAL(SHA)?$/)]);
    expect(byStart[1]!.attributes).toMatchObject({ 'db.system.name': 'postgresql', 'db.query.text': 'select name, info, created_at, updated_at from users where name = any(array(select jsonb_array_elements_text($1)))' });
    expect(byStart[0]!.attributes).toMatchObject({ 'db.system.name': 'redis', 'db.operation.name': 'MGET' });

    const line = data.logs.lines.find((entry) => entry.msg === 'request' && entry.trace_id === traceId);
    expect(line).toMatchObject({ path: '/user/traced.read', span_id: request.spanId, status: 200 });
  });

  it('a local hit: one cache lookup span (tier local) and no Redis or PostgreSQL span', async () => {
    await waitFor(async () => (await fetch(`${data.url}/user/traced.read`)).headers.get('x-cache') === 'HIT', 2_000);
    const [traceId, callerSpan] = [randomHex(16), randomHex(8)];
    const res = await fetch(`${data.url}/user/traced.read`, { headers: { traceparent: traceparent(traceId, callerSpan) } });
    expect(res.headers.get('x-cache')).toBe('HIT');

    const spans = await traceOf(traceId, 'GET /user/:name');
    const request = spans.find((span) => span.name === 'GET /user/:name')!;
    expect(request.parentSpanId).toBe(callerSpan);
    expect(spans.filter((span) => span !== request)).toEqual([
      expect.objectContaining({ name: 'cache lookup', parentSpanId: request.spanId, attributes: { 'cache.tier': 'local', 'user.found': true } }),
    ]);
    expect(data.logs.lines.find((entry) => entry.msg === 'request' && entry.trace_id === traceId)).toMatchObject({ span_id: request.spanId });
  });

  it('a Redis hit: cache lookup (tier redis) over one MGET; a name nobody has is found nowhere', async () => {
    const traceId = randomHex(16);
    const res = await fetch(`${redisOnly.url}/user/traced.read`, { headers: { traceparent: traceparent(traceId, randomHex(8)) } });
    expect(res.headers.get('x-cache')).toBe('HIT');
    const spans = await traceOf(traceId, 'GET /user/:name');
    const lookup = spans.find((span) => span.name === 'cache lookup')!;
    expect(lookup.attributes).toMatchObject({ 'cache.tier': 'redis', 'user.found': true });
    expect(spans.filter((span) => span.parentSpanId === lookup.spanId).map((span) => span.name)).toEqual(['MGET']);

    const absent = randomHex(16);
    expect((await fetch(`${redisOnly.url}/user/nobody.here`, { headers: { traceparent: traceparent(absent, randomHex(8)) } })).status).toBe(404);
    const absentSpans = await traceOf(absent, 'GET /user/:name');
    expect(absentSpans.find((span) => span.name === 'cache lookup')!.attributes).toMatchObject({ 'cache.tier': 'postgres', 'user.found': false });
    expect(absentSpans.find((span) => span.name === 'GET /user/:name')!.attributes).toMatchObject({ 'http.response.status_code': 404 });
  });

  it('requests the Hono app answers get spans too, and a request without traceparent starts a trace', async () => {
    const res = await fetch(`${data.url}/users?limit=1`);
    expect(res.status).toBe(200);
    await waitFor(() => receiver.spans.some((span) => span.name === 'GET /users'), 5_000, 20);
    const request = receiver.spans.find((span) => span.name === 'GET /users')!;
    expect(request).toMatchObject({ parentSpanId: '', service: 'data-service' });
    expect(request.traceId).toMatch(/^[0-9a-f]{32}$/);
    const spans = await traceOf(request.traceId, 'GET /users');
    expect(spans.find((span) => span.name === 'SELECT users')).toMatchObject({ parentSpanId: request.spanId });
  });

  it('probes and scrapes make no traces; the export is OTLP/HTTP JSON', async () => {
    await fetch(`${data.url}/health/ready`);
    await fetch(`${data.url}/metrics`);
    await fetch(`${data.url}/health/live`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.spans.filter((span) => String(span.attributes['url.path']).match(/^\/(health|metrics)/))).toEqual([]);
    expect(new Set(receiver.contentTypes)).toEqual(new Set(['application/json']));
  });
});

describe('a collector that refuses the export', () => {
  it('is reported in the service log (no header values), and requests and shutdown are unaffected', async () => {
    // The receiver answers 404 on any other path: a failure the exporter does not retry.
    const data = await startData(db.name, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/not-traces`, OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer s3cret-token' });
    try {
      await waitFor(async () => (await fetch(`${data.url}/health/ready`)).status === 200);
      expect((await fetch(`${data.url}/user/traced.read`)).status).toBe(200);
      await waitFor(() => data.logs.lines.some((line) => line.msg === 'tracing' && line.level === 'warn'), 5_000, 20);
      // Exports run outside any request: the warning must not carry some request's trace id.
      expect(data.logs.lines.find((line) => line.msg === 'tracing')).not.toHaveProperty('trace_id');
    } finally {
      // Stops cleanly although its last export fails too.
      await data.stop();
    }
    expect(data.logs.lines.at(-1)).toMatchObject({ msg: 'stopped' });
    expect(data.logs.raw.join('\n')).not.toContain('s3cret-token');
  });
});

describe('configuration', () => {
  it.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, 'http://collector:4318/v1/traces'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/base/' }, 'http://collector:4318/base/v1/traces'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/traces' }, 'https://b/traces'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_SDK_DISABLED: 'TRUE' }, undefined],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_SDK_DISABLED: 'false' }, 'http://a:4318/v1/traces'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_TRACES_EXPORTER: 'none' }, undefined],
    [{}, undefined],
  ])('%o exports to %s', (variables, expected) => {
    expect(tracesEndpoint(parseEnv(dataEnv, variables))).toBe(expected);
  });

  it('an endpoint that is not an http(s) URL is a configuration error naming the variable', () => {
    expect(() => parseEnv(dataEnv, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/^invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT: /);
  });
});

describe('module graph', () => {
  const entry = 'dist/services/data/src/main.js';
  // Reports every module the process resolves from an @opentelemetry package, import or require.
  const hook = `data:text/javascript,${encodeURIComponent(`
    import { registerHooks } from 'node:module';
    import { writeSync } from 'node:fs';
    registerHooks({ resolve(specifier, context, next) {
      const resolved = next(specifier, context);
      if (resolved.url.includes('/@opentelemetry/')) writeSync(2, 'otel module: ' + resolved.url + ' from ' + context.parentURL + '\\n');
      return resolved;
    } });`)}`;

  /** Starts the built data-service, serves a miss and a hit, stops it; returns everything it wrote. */
  async function serveAndStop(overrides: Record<string, string>): Promise<string> {
    if (!existsSync(entry)) throw new Error('run `npm run build` first (npm test does)');
    const child = spawn(process.execPath, ['--import', hook, entry], { env: { PATH: process.env.PATH, ...testEnv(db.name, { PORT: 0, ...overrides }) } });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    const exited = once(child, 'exit');
    // Two cold starts of a process under a module hook, while the rest of the suite loads the
    // machine: the bounds are generous, since only liveness is asserted here.
    await waitFor(() => /"port":(\d+),"msg":"listening"/.test(out), 25_000, 20);
    const url = `http://127.0.0.1:${/"port":(\d+),"msg":"listening"/.exec(out)![1]}`;
    await waitFor(async () => (await fetch(`${url}/health/ready`)).status === 200, 25_000, 50);
    for (let i = 0; i < 2; i++) expect((await fetch(`${url}/user/traced.read`)).status).toBe(200);
    child.kill('SIGTERM');
    expect((await exited)[0]).toBe(0);
    return out;
  }

  const modules = (output: string) => [...output.matchAll(/otel module: (\S+) from (\S+)/g)].map(([, url, parent]) => ({ url: url!, parent: parent! }));

  it('loads no OpenTelemetry SDK module when tracing is off, and loads the SDK when it is on', async () => {
    const off = await serveAndStop({});
    expect(off).toContain('"msg":"stopped"');
    expect(off).not.toContain('tracing on');
    // prom-client requires the OpenTelemetry API (its no-op facade, for exemplars) whatever we
    // do; that is the only way into @opentelemetry, and nothing beyond the API is loaded.
    const loaded = modules(off);
    const entries = loaded.filter(({ parent }) => !parent.includes('/@opentelemetry/'));
    expect(entries.length).toBeGreaterThan(0);
    for (const { url, parent } of entries) {
      expect(parent).toMatch(/\/node_modules\/prom-client\//);
      expect(url).toMatch(/\/node_modules\/@opentelemetry\/api\//);
    }
    expect(loaded.filter(({ url }) => !url.includes('/@opentelemetry/api/'))).toEqual([]);

    // The same probe sees the SDK when tracing is configured, so its silence above means something.
    const on = await serveAndStop({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    expect(on).toContain('"msg":"tracing on"');
    expect(modules(on).map(({ url }) => url)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/\/@opentelemetry\/sdk-trace-node\//),
        expect.stringMatching(/\/@opentelemetry\/exporter-trace-otlp-http\//),
      ]),
    );
  }, 120_000);
});

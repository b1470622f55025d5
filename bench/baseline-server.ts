// The baseline: GET /user/:name with the same contract as data-service (JSON shape, `cached`,
// X-Cache, problem+json 404), written the plain way on node:http + ioredis + postgres.js with
// Redis asked on every request. No framework, no logs, no metrics, no in-process tier.
import http from 'node:http';
import { Redis } from 'ioredis';
import { poolFromEnv } from './stats.ts';

const env = process.env;
const sql = poolFromEnv(env);
const redis = new Redis({ host: env.REDIS_HOST ?? '127.0.0.1', port: Number(env.REDIS_PORT ?? 6379) });
const prefix = env.REDIS_KEY_PREFIX ?? 'baseline:';
const TTL_SECONDS = 300;
const NEGATIVE_TTL_SECONDS = 30;
const ABSENT = '-';

interface Row {
  name: string;
  info: string;
  created_at: Date;
  updated_at: Date;
}

function send(res: http.ServerResponse, status: number, type: string, body: string, xCache?: string) {
  const headers: http.OutgoingHttpHeaders = { 'content-type': type, 'content-length': Buffer.byteLength(body) };
  if (xCache) headers['x-cache'] = xCache;
  res.writeHead(status, headers);
  res.end(body);
}

function notFound(res: http.ServerResponse, path: string, name: string, xCache: string) {
  const body = { type: 'about:blank', title: 'Not Found', status: 404, detail: `no user named "${name}"`, instance: path };
  send(res, 404, 'application/problem+json', JSON.stringify(body), xCache);
}

async function getUser(res: http.ServerResponse, path: string, name: string) {
  const key = `${prefix}user:${name}`;
  const stored = await redis.get(key);
  if (stored === ABSENT) return notFound(res, path, name, 'HIT');
  if (stored !== null) {
    return send(res, 200, 'application/json', JSON.stringify({ ...JSON.parse(stored), cached: true }), 'HIT');
  }
  const [row] = await sql<Row[]>`select name, info, created_at, updated_at from users where name = ${name}`;
  if (!row) {
    await redis.set(key, ABSENT, 'EX', NEGATIVE_TTL_SECONDS);
    return notFound(res, path, name, 'MISS');
  }
  const user = { name: row.name, info: row.info, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() };
  await redis.set(key, JSON.stringify(user), 'EX', TTL_SECONDS);
  send(res, 200, 'application/json', JSON.stringify({ ...user, cached: false }), 'MISS');
}

const server = http.createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0]!;
  if (req.method === 'GET' && path.startsWith('/user/')) {
    let name: string;
    try {
      name = decodeURIComponent(path.slice('/user/'.length));
    } catch {
      return send(res, 400, 'application/problem+json', JSON.stringify({ type: 'about:blank', title: 'Bad Request', status: 400 }));
    }
    getUser(res, path, name).catch(() => send(res, 503, 'application/problem+json', '{"type":"about:blank","title":"Service Unavailable","status":503}'));
    return;
  }
  if (path === '/health/ready') {
    sql`select 1`.then(
      () => send(res, 200, 'application/json', '{"status":"ready"}'),
      () => send(res, 503, 'application/json', '{"status":"not ready"}'),
    );
    return;
  }
  send(res, 404, 'application/problem+json', JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, instance: path }));
});

server.listen(Number(env.PORT ?? 18402), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  Promise.all([sql.end({ timeout: 1 }), redis.quit()]).finally(() => process.exit(0));
});

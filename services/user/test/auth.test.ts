// Writes need a token: user-service started for real (PostgreSQL, Redis), tokens made here, signed
// with the test secret (HS256) or with keys the test serves as a JWKS over HTTP on this host.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/src/observability/index.ts';
import { migrate } from '../src/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.ts';
import { startUser, TEST_JWT_SECRET, testToken, waitFor } from '../../../test/support/services.ts';

let db: TestDatabase;
let service: Awaited<ReturnType<typeof startUser>>;

beforeAll(async () => {
  db = await createTestDatabase('user_auth');
  await migrate(db.sql, createLogger('test', 'silent'));
  service = await startUser(db.name, { JWT_ISSUER: 'https://issuer.test', JWT_AUDIENCE: 'users-api', MIGRATE_ON_START: 'false' });
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

const now = () => Math.floor(Date.now() / 1000);
const countUsers = async () => Number((await db.sql`select count(*)::int as n from users`)[0]!.n);
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

const claims = (extra: Record<string, unknown> = {}) => ({
  scope: 'users:write',
  iss: 'https://issuer.test',
  aud: 'users-api',
  iat: now(),
  exp: now() + 300,
  ...extra,
});
const hs256 = (extra: Record<string, unknown> = {}, secret = TEST_JWT_SECRET) => sign(claims(extra), secret, 'HS256');

type Write = { label: string; method: string; path: string; body?: unknown };
const writes: Write[] = [
  { label: 'POST /register', method: 'POST', path: '/register', body: { name: 'Mallory', info: 'x' } },
  { label: 'PATCH /user/:name', method: 'PATCH', path: '/user/Amit', body: { info: 'changed' } },
  { label: 'DELETE /user/:name', method: 'DELETE', path: '/user/Amit' },
];

const call = (write: Write, authorization?: string) =>
  fetch(`${service.url}${write.path}`, {
    method: write.method,
    headers: { 'content-type': 'application/json', ...(authorization !== undefined && { authorization }) },
    ...(write.body !== undefined && { body: JSON.stringify(write.body) }),
  });

const snapshot = () => db.sql`select name, info, updated_at from users order by name`;

describe('every write without a valid token is refused and changes nothing', () => {
  beforeAll(async () => {
    await db.sql`insert into users (name, info) values ('Amit', 'original') on conflict do nothing`;
  });

  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const refused: [string, () => Promise<string | undefined>, number, string | undefined][] = [
    ['no Authorization header', async () => undefined, 401, undefined],
    ['a Basic credential', async () => 'Basic dXNlcjpwYXNz', 401, 'invalid_request'],
    ['a token that is not a JWT', async () => 'Bearer not-a-jwt', 401, 'invalid_token'],
    ['a bad signature (another secret)', async () => `Bearer ${await hs256({}, randomBytes(32).toString('hex'))}`, 401, 'invalid_token'],
    ['a tampered payload', async () => {
      const [header, , signature] = (await hs256()).split('.');
      return `Bearer ${header}.${b64(claims({ scope: 'users:write users:admin' }))}.${signature}`;
    }, 401, 'invalid_token'],
    ['an expired token (beyond the clock skew)', async () => `Bearer ${await hs256({ iat: now() - 600, exp: now() - 60 })}`, 401, 'invalid_token'],
    ['a token without exp', async () => `Bearer ${await sign({ ...claims(), exp: undefined }, TEST_JWT_SECRET, 'HS256')}`, 401, 'invalid_token'],
    ['a token not valid yet (nbf)', async () => `Bearer ${await hs256({ nbf: now() + 600 })}`, 401, 'invalid_token'],
    ['alg: none', async () => `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`, 401, 'invalid_token'],
    ['another HMAC algorithm (HS512, same secret)', async () => `Bearer ${await sign(claims(), TEST_JWT_SECRET, 'HS512')}`, 401, 'invalid_token'],
    ['an RS256 token', async () => `Bearer ${await sign(claims(), rsa.privateKey.export({ format: 'jwk' }) as never, 'RS256')}`, 401, 'invalid_token'],
    ['the wrong issuer', async () => `Bearer ${await hs256({ iss: 'https://evil.test' })}`, 401, 'invalid_token'],
    ['the wrong audience', async () => `Bearer ${await hs256({ aud: 'other-api' })}`, 401, 'invalid_token'],
    ['no audience', async () => `Bearer ${await hs256({ aud: undefined })}`, 401, 'invalid_token'],
    ['a token without the users:write scope', async () => `Bearer ${await hs256({ scope: 'users:read' })}`, 403, 'insufficient_scope'],
    ['a token without any scope', async () => `Bearer ${await hs256({ scope: undefined })}`, 403, 'insufficient_scope'],
  ];

  for (const write of writes) {
    it.each(refused)(`${write.label} with %s answers %i problem+json with a Bearer challenge`, async (_case, authorization, status, error) => {
      const before = await snapshot();
      const users = await countUsers();
      const res = await call(write, await authorization());
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.headers.get('cache-control')).toBe('no-store');
      const challenge = res.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/^Bearer realm="user-service"/);
      if (error) expect(challenge).toContain(`error="${error}"`);
      else expect(challenge).not.toContain('error=');
      if (status === 403) expect(challenge).toContain('scope="users:write"');
      const problem = (await res.json()) as { status: number; detail: string };
      expect(problem.status).toBe(status);
      expect(problem.detail.length).toBeGreaterThan(5);
      expect(await countUsers()).toBe(users);
      expect(await snapshot()).toEqual(before);
    });
  }

  it('logs each refusal at info with its reason, and never the token', async () => {
    const token = await hs256({ exp: now() - 120 });
    const res = await call(writes[0]!, `Bearer ${token}`);
    expect(res.status).toBe(401);
    const line = service.logs.lines.find((l) => l.msg === 'request refused' && l.reason === 'the token has expired');
    expect(line).toMatchObject({ level: 'info', status: 401, method: 'POST', path: '/register' });
    expect(service.logs.raw.join('\n')).not.toContain(token.split('.')[2]);
    expect(service.logs.raw.join('\n')).not.toContain(TEST_JWT_SECRET);
  });
});

describe('a valid token', () => {
  it('writes as before: register, update, delete', async () => {
    const authorization = `Bearer ${await hs256()}`;
    const register = await call({ label: '', method: 'POST', path: '/register', body: { name: 'Trusted', info: 'a' } }, authorization);
    expect(register.status).toBe(201);
    expect(register.headers.get('cache-control')).toBe('no-store');
    expect(register.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await call({ label: '', method: 'PATCH', path: '/user/Trusted', body: { info: 'b' } }, authorization)).status).toBe(200);
    expect(await db.sql`select info from users where name = 'Trusted'`).toEqual([{ info: 'b' }]);
    expect((await call({ label: '', method: 'DELETE', path: '/user/Trusted' }, authorization)).status).toBe(204);
    expect(await db.sql`select 1 from users where name = 'Trusted'`).toHaveLength(0);
  });

  it('is accepted a little after its expiry (clock skew), with several scopes, and with `scp` as a list', async () => {
    const justExpired = await hs256({ exp: now() - 5, iat: now() - 300 });
    expect((await call({ label: '', method: 'POST', path: '/register', body: { name: 'Skewed' } }, `Bearer ${justExpired}`)).status).toBe(201);
    const several = await hs256({ scope: 'users:read users:write' });
    expect((await call({ label: '', method: 'PATCH', path: '/user/Skewed', body: { info: 'x' } }, `Bearer ${several}`)).status).toBe(200);
    const scp = await hs256({ scope: undefined, scp: ['users:write'] });
    expect((await call({ label: '', method: 'DELETE', path: '/user/Skewed' }, `Bearer ${scp}`)).status).toBe(204);
  });

  it('reads, health and the API description stay public', async () => {
    for (const path of ['/', '/health', '/openapi.json']) expect((await fetch(`${service.url}${path}`)).status).toBe(200);
  });

  it('OpenAPI declares the bearer scheme and that each write needs users:write', async () => {
    const doc = (await (await fetch(`${service.url}/openapi.json`)).json()) as any;
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(doc.paths['/register'].post.security).toEqual([{ bearerAuth: ['users:write'] }]);
    expect(doc.paths['/user/{name}'].patch.security).toEqual([{ bearerAuth: ['users:write'] }]);
    expect(doc.paths['/user/{name}'].delete.security).toEqual([{ bearerAuth: ['users:write'] }]);
    expect(Object.keys(doc.paths['/register'].post.responses)).toEqual(expect.arrayContaining(['401', '403']));
  });
});

describe('AUTH=disabled', () => {
  it('lets writes through without a token and warns at every start', async () => {
    const open = await startUser(db.name, { AUTH: 'disabled', JWT_SECRET: '', MIGRATE_ON_START: 'false' });
    try {
      const res = await fetch(`${open.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"Unguarded"}' });
      expect(res.status).toBe(201);
      expect(open.logs.lines.find((l) => l.level === 'warn' && String(l.msg).startsWith('AUTH=disabled'))).toBeDefined();
    } finally {
      await open.stop();
    }
  });
});

/** A JWKS endpoint like an identity provider's: its keys can be rotated, and it can go away. */
class JwksProvider {
  private server: Server | undefined;
  keys: object[] = [];
  requests = 0;
  url = '';

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      this.requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys }));
    });
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

function signingKey(type: 'rsa' | 'ec', kid: string) {
  const pair = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const alg = type === 'rsa' ? 'RS256' : 'ES256';
  return {
    kid,
    public: { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
    token: (extra: Record<string, unknown> = {}) => sign(claims(extra), { ...pair.privateKey.export({ format: 'jwk' }), kid, alg } as never),
  };
}

describe('JWKS_URL: keys of an identity provider', () => {
  it('verifies RS256 and ES256, follows a rotation without a restart, and keeps cached keys while the provider is down', async () => {
    const provider = await new JwksProvider().start();
    const first = signingKey('rsa', 'key-1');
    const ec = signingKey('ec', 'key-ec');
    provider.keys = [first.public, ec.public];
    const idp = await startUser(db.name, {
      JWT_SECRET: '',
      JWKS_URL: provider.url,
      JWT_ISSUER: 'https://issuer.test',
      JWT_AUDIENCE: 'users-api',
      JWKS_COOLDOWN_SECONDS: 0,
      MIGRATE_ON_START: 'false',
    });
    const register = (name: string, token: string) =>
      fetch(`${idp.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ name }) });
    try {
      expect((await register('jwks-rsa', await first.token())).status).toBe(201);
      expect((await register('jwks-ec', await ec.token())).status).toBe(201);
      // Refused: an HS256 token (even one keyed with the public key), the wrong audience, an unknown key.
      const confused = await sign(claims(), JSON.stringify(first.public), 'HS256');
      expect((await register('jwks-hs', confused)).status).toBe(401);
      expect((await register('jwks-aud', await first.token({ aud: 'other-api' }))).status).toBe(401);
      const stranger = signingKey('rsa', 'key-stranger');
      expect((await register('jwks-stranger', await stranger.token())).status).toBe(401);
      expect((await register('jwks-scope', await first.token({ scope: 'users:read' }))).status).toBe(403);

      // Rotation: the provider now publishes key-2 only; a token signed with it is accepted at once.
      const second = signingKey('rsa', 'key-2');
      provider.keys = [second.public];
      const fetchesBefore = provider.requests;
      expect((await register('jwks-rotated', await second.token())).status).toBe(201);
      expect(provider.requests).toBeGreaterThan(fetchesBefore);

      // The provider goes away: tokens whose key is cached keep working, unknown keys are refused.
      await provider.stop();
      expect((await register('jwks-provider-down', await second.token())).status).toBe(201);
      expect((await register('jwks-unknown-while-down', await signingKey('rsa', 'key-3').token())).status).toBe(401);
      expect(idp.logs.lines.some((l) => l.level === 'warn' && l.msg === 'JWKS fetch failed; keeping the cached keys')).toBe(true);
      expect(await db.sql`select name from users where name like 'jwks-%' order by name`).toEqual([
        { name: 'jwks-ec' },
        { name: 'jwks-provider-down' },
        { name: 'jwks-rotated' },
        { name: 'jwks-rsa' },
      ]);
    } finally {
      await idp.stop();
      await provider.stop().catch(() => {});
    }
  });

  it('does not ask the provider again for a known key while the cache is fresh, and at most once per cooldown for unknown ones', async () => {
    const provider = await new JwksProvider().start();
    const key = signingKey('ec', 'steady');
    provider.keys = [key.public];
    const idp = await startUser(db.name, { JWT_SECRET: '', JWKS_URL: provider.url, JWKS_COOLDOWN_SECONDS: 60, MIGRATE_ON_START: 'false' });
    try {
      await waitFor(() => provider.requests >= 1);
      const token = await key.token({ iss: undefined, aud: undefined });
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${idp.url}/user/nobody-${i}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(404);
      }
      for (let i = 0; i < 5; i++) {
        const forged = await signingKey('ec', `forged-${i}`).token();
        expect((await fetch(`${idp.url}/user/x`, { method: 'DELETE', headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
      }
      expect(provider.requests).toBe(1);
    } finally {
      await idp.stop();
      await provider.stop();
    }
  });
});

describe('tokens from testToken (the same signing code as `npm run token`)', () => {
  it('are accepted by a service sharing the secret', async () => {
    const plain = await startUser(db.name, { MIGRATE_ON_START: 'false' });
    try {
      const res = await fetch(`${plain.url}/user/nobody`, { method: 'DELETE', headers: { authorization: `Bearer ${await testToken('users:write')}` } });
      expect(res.status).toBe(404);
    } finally {
      await plain.stop();
    }
  });
});

import { createRoute, z } from '@hono/zod-openapi';
import { SCOPES, type Auth } from '../../shared/src/auth/index.ts';
import { mountHealth, mountServiceInfo, type Lifecycle, type ReadinessReport } from '../../shared/src/lifecycle/index.ts';
import { createServiceApp } from '../../shared/src/http/index.ts';
import type { Logger, Metrics, Tracing } from '../../shared/src/observability/index.ts';
import {
  serveApiDescription,
  bearerSecurity,
  databaseUnavailableResponse,
  NameParam,
  NoQuery,
  problemResponse,
  registerBearerScheme,
  tokenResponses,
  User,
  UserName,
} from '../../shared/src/api/index.ts';
import { version } from '../../shared/src/config/index.ts';
import { userAnswer } from './read-lane.ts';
import type { UserLookup } from './user-lookup.ts';
import type { UserQueries } from './user-queries.ts';

export const SERVICE = 'data-service';

export interface DataAppDeps {
  lookup: UserLookup;
  queries: UserQueries;
  logger: Logger;
  metrics: Metrics;
  lifecycle: Lifecycle;
  readiness: () => Promise<ReadinessReport>;
  tracing?: Tracing | undefined;
  /** Set when reads need a token with users:read (AUTH_READS=token); reads are public otherwise. */
  auth?: Auth | undefined;
  /** false when METRICS_PORT serves /metrics apart from the API. */
  metricsOnApiPort?: boolean;
}

const CachedUser = User.extend({
  cached: z.boolean().openapi({ description: 'true when served from a cache, false when read from PostgreSQL' }),
}).openapi('CachedUser');

const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ example: 20 }),
  after: UserName.optional().openapi({ description: 'The `next` value of the previous page' }),
});

const UserPage = z
  .object({ users: z.array(User), next: z.string().nullable() })
  .openapi('UserPage');

const cacheHeader = {
  'X-Cache': {
    description: '`HIT` when a cache answered (the in-process tier or Redis), `MISS` when PostgreSQL did',
    schema: { type: 'string' as const, enum: ['HIT', 'MISS'] },
  },
};

const getUser = createRoute({
  method: 'get',
  path: '/user/{name}',
  operationId: 'getUser',
  tags: ['users'],
  summary: 'Read a user (cache-aside)',
  request: { params: NameParam, query: NoQuery },
  responses: {
    200: { description: 'The user', headers: cacheHeader, content: { 'application/json': { schema: CachedUser } } },
    400: problemResponse('Invalid name, or a query parameter (this operation takes none)'),
    // "No such user" is cached too (briefly), so the header says where this answer came from.
    404: { ...problemResponse('No such user'), headers: cacheHeader },
    503: databaseUnavailableResponse,
  },
});

const listUsers = createRoute({
  method: 'get',
  path: '/users',
  operationId: 'listUsers',
  tags: ['users'],
  summary: 'A page of users ordered by name (keyset pagination)',
  request: { query: PageQuery },
  responses: {
    200: { description: 'A page', content: { 'application/json': { schema: UserPage } } },
    400: problemResponse('Invalid limit or cursor, or an unknown query parameter'),
    503: databaseUnavailableResponse,
  },
});

export function createDataApp({ lookup, queries, logger, metrics, lifecycle, readiness, tracing, auth, metricsOnApiPort }: DataAppDeps) {
  const app = createServiceApp({ logger, metrics, tracing, metricsOnApiPort });
  mountHealth(app, lifecycle, readiness);

  mountServiceInfo(app, SERVICE);

  // Reads declare and check the token only when the setting asks for one.
  const protect = <R extends typeof getUser | typeof listUsers>(route: R): R => {
    if (!auth) return route;
    return { ...route, security: bearerSecurity(SCOPES.read), responses: { ...route.responses, ...tokenResponses(SCOPES.read) } };
  };
  if (auth) {
    const reader = auth.require(SCOPES.read);
    app.on('GET', '/user/:name', reader);
    app.on('GET', '/users', reader);
    registerBearerScheme(app);
  }

  // Plain names are answered by the read lane before this app (read-lane.ts), with the same answer,
  // while reads are public.
  app.openapi(protect(getUser), async (c) => {
    const { name } = c.req.valid('param');
    const { status, headers, body } = userAnswer(name, await lookup.get(name), c.req.path, c.get('requestId'));
    // The body is already the documented JSON; typed helpers would serialize it a second time.
    return c.body(body, status as 200 | 404, headers) as never;
  });

  app.openapi(protect(listUsers), async (c) => {
    const { limit, after } = c.req.valid('query');
    return c.json(await queries.page(limit, after), 200);
  });

  serveApiDescription(app, { title: SERVICE, version, description: 'Reads users, cache-aside: an in-process cache, then Redis, then PostgreSQL.' });
  return app;
}

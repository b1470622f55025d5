import { createRoute, z } from '@hono/zod-openapi';
import { SCOPES, type Auth } from '../../shared/src/auth.ts';
import { mountHealth, type Lifecycle, type ReadinessReport } from '../../shared/src/health.ts';
import { createServiceApp } from '../../shared/src/http.ts';
import type { Logger } from '../../shared/src/logger.ts';
import type { Metrics } from '../../shared/src/metrics.ts';
import {
  bearerSecurity,
  databaseUnavailableResponse,
  NameParam,
  problemResponse,
  registerBearerScheme,
  tokenResponses,
  User,
  UserName,
} from '../../shared/src/user-schema.ts';
import { version } from '../../shared/src/version.ts';
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
  /** Set when reads need a token with users:read (AUTH_READS=token); reads are public otherwise. */
  auth?: Auth | undefined;
  /** false when METRICS_PORT serves /metrics apart from the API. */
  metricsOnApiPort?: boolean;
}

const CachedUser = User.extend({
  cached: z.boolean().openapi({ description: 'true when served from a cache, false when read from PostgreSQL' }),
}).openapi('CachedUser');

const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ example: 20 }),
  after: UserName.optional().openapi({ description: 'The `next` value of the previous page' }),
});

const UserPage = z
  .object({ users: z.array(User), next: z.string().nullable() })
  .openapi('UserPage');

const cacheHeader = { 'X-Cache': { schema: { type: 'string' as const, enum: ['HIT', 'MISS'] } } };

const getUser = createRoute({
  method: 'get',
  path: '/user/{name}',
  summary: 'Read a user (cache-aside)',
  request: { params: NameParam },
  responses: {
    200: { description: 'The user', headers: cacheHeader, content: { 'application/json': { schema: CachedUser } } },
    400: problemResponse('Invalid name'),
    404: problemResponse('No such user'),
    503: databaseUnavailableResponse,
  },
});

const listUsers = createRoute({
  method: 'get',
  path: '/users',
  summary: 'A page of users ordered by name (keyset pagination)',
  request: { query: PageQuery },
  responses: {
    200: { description: 'A page', content: { 'application/json': { schema: UserPage } } },
    400: problemResponse('Invalid limit or cursor'),
    503: databaseUnavailableResponse,
  },
});

export function createDataApp({ lookup, queries, logger, metrics, lifecycle, readiness, auth, metricsOnApiPort }: DataAppDeps) {
  const app = createServiceApp({ logger, metrics, metricsOnApiPort });
  mountHealth(app, lifecycle, readiness);

  app.get('/', (c) => c.json({ service: SERVICE, version }));

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

  app.doc31('/openapi.json', { openapi: '3.1.0', info: { title: SERVICE, version } });
  return app;
}

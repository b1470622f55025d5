import { createRoute, z } from '@hono/zod-openapi';
import { SCOPES, type Auth } from '../../shared/src/auth/index.ts';
import { mountHealth, mountServiceInfo, type Lifecycle, type ReadinessReport } from '../../shared/src/lifecycle/index.ts';
import { createServiceApp, ProblemError } from '../../shared/src/http/index.ts';
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
  UserInfo,
  UserName,
} from '../../shared/src/api/index.ts';
import { version } from '../../shared/src/config/index.ts';
import type { UserStore } from './users.ts';

export const SERVICE = 'user-service';

export interface UserAppDeps {
  users: UserStore;
  logger: Logger;
  metrics: Metrics;
  lifecycle: Lifecycle;
  readiness: () => Promise<ReadinessReport>;
  tracing?: Tracing | undefined;
  /** Verifies the bearer token of every write (AUTH=disabled lets everything through). */
  auth: Auth;
  /** false when METRICS_PORT serves /metrics apart from the API. */
  metricsOnApiPort?: boolean;
}

const writeSecurity = bearerSecurity(SCOPES.write);
const writeRefusals = tokenResponses(SCOPES.write);

const RegisterBody = z
  .strictObject({ name: UserName, info: UserInfo.default('') })
  .openapi('RegisterUser');

const UpdateBody = z.strictObject({ info: UserInfo }).openapi('UpdateUser');

const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } }, required: true });

const invalid = problemResponse('Invalid input, an unknown field or query parameter; `errors` names each');
const notJson = problemResponse('The body is not sent as `application/json`');
const noSuchUser = problemResponse('No such user');

const register = createRoute({
  method: 'post',
  path: '/register',
  operationId: 'registerUser',
  tags: ['users'],
  summary: 'Register a user',
  security: writeSecurity,
  request: { query: NoQuery, body: json(RegisterBody) },
  responses: {
    201: {
      description: 'Created',
      headers: { Location: { description: 'Path of the new user', schema: { type: 'string' } } },
      content: { 'application/json': { schema: User } },
    },
    400: invalid,
    ...writeRefusals,
    409: problemResponse('The name is taken; the existing user is unchanged'),
    415: notJson,
    503: databaseUnavailableResponse,
  },
});

const update = createRoute({
  method: 'patch',
  path: '/user/{name}',
  operationId: 'updateUser',
  tags: ['users'],
  summary: "Replace a user's info",
  security: writeSecurity,
  request: { params: NameParam, query: NoQuery, body: json(UpdateBody) },
  responses: {
    200: { description: 'Updated', content: { 'application/json': { schema: User } } },
    400: invalid,
    ...writeRefusals,
    404: noSuchUser,
    415: notJson,
    503: databaseUnavailableResponse,
  },
});

const remove = createRoute({
  method: 'delete',
  path: '/user/{name}',
  operationId: 'deleteUser',
  tags: ['users'],
  summary: 'Delete a user',
  security: writeSecurity,
  request: { params: NameParam, query: NoQuery },
  responses: {
    204: { description: 'Deleted' },
    400: invalid,
    ...writeRefusals,
    404: noSuchUser,
    503: databaseUnavailableResponse,
  },
});

export function createUserApp({ users, logger, metrics, lifecycle, readiness, tracing, auth, metricsOnApiPort }: UserAppDeps) {
  const app = createServiceApp({ logger, metrics, tracing, metricsOnApiPort });
  mountHealth(app, lifecycle, readiness);

  mountServiceInfo(app, SERVICE);

  // Before the routes' own validation: a request without a valid token is refused unread.
  const writer = auth.require(SCOPES.write);
  app.on('POST', '/register', writer);
  app.on(['PATCH', 'DELETE'], '/user/:name', writer);
  registerBearerScheme(app);

  app.openapi(register, async (c) => {
    const { name, info } = c.req.valid('json');
    const user = await users.create(name, info);
    if (!user) throw new ProblemError({ status: 409, detail: `a user named "${name}" already exists` });
    return c.json(user, 201, { location: `/user/${encodeURIComponent(user.name)}` });
  });

  app.openapi(update, async (c) => {
    const { name } = c.req.valid('param');
    const user = await users.updateInfo(name, c.req.valid('json').info);
    if (!user) throw notFound(name);
    return c.json(user, 200);
  });

  app.openapi(remove, async (c) => {
    const { name } = c.req.valid('param');
    if (!(await users.remove(name))) throw notFound(name);
    return c.body(null, 204);
  });

  serveApiDescription(app, { title: SERVICE, version, description: 'Registers, updates and deletes users.' });
  return app;
}

const notFound = (name: string) => new ProblemError({ status: 404, detail: `no user named "${name}"` });

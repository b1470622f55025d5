import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { swaggerUI } from '@hono/swagger-ui';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { MAX_BODY_BYTES, type AppEnv } from './http.ts';
import { PROBLEM_CONTENT_TYPE } from './problem.ts';

/** References to the reusable parts every service's document registers (see serveApiDescription). */
export const ref = {
  requestIdHeader: { $ref: '#/components/headers/X-Request-Id' },
  retryAfterHeader: { $ref: '#/components/headers/Retry-After' },
  problem: { $ref: '#/components/schemas/Problem' },
} as const;

/**
 * Headers the shared middleware puts on every answer, so every documented response declares them.
 * A header added to every answer elsewhere belongs here too: the contract test fails on any header
 * a service sends that its document does not declare.
 */
const HEADERS_ON_EVERY_ANSWER = { 'X-Request-Id': ref.requestIdHeader };

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

interface ApiInfo {
  title: string;
  version: string;
  description: string;
}

type Document = ReturnType<OpenAPIHono<AppEnv>['getOpenAPI31Document']>;
type Operation = NonNullable<NonNullable<Document['paths']>[string]['get']>;

/**
 * Serves the OpenAPI document at /openapi.json and Swagger UI at /docs. Call it after every route
 * is registered.
 *
 * Swagger UI, because its assets come as files in an npm package (swagger-ui-dist) that the
 * service serves itself: the page loads nothing from a CDN, so it works in a cluster without
 * internet access, and `validatorUrl: none` stops the one request Swagger UI would make to an
 * outside validator. The page and its assets are addressed relative to /docs, so it also works
 * behind a proxy that serves the service under a path prefix.
 */
export function serveApiDescription(app: OpenAPIHono<AppEnv>, info: ApiInfo): void {
  app.openAPIRegistry.registerComponent('headers', 'X-Request-Id', {
    description: 'The request id: the caller\'s `X-Request-Id` when it is 1–255 characters of `A-Za-z0-9_-=`, else a generated UUID. Log lines carry it.',
    schema: { type: 'string', maxLength: 255 },
  });
  app.openAPIRegistry.registerComponent('headers', 'Retry-After', {
    description: 'Seconds to wait before retrying',
    schema: { type: 'string', pattern: '^[0-9]+$' },
  });
  app.openAPIRegistry.registerComponent('parameters', 'RequestId', {
    name: 'X-Request-Id',
    in: 'header',
    required: false,
    description: 'A request id to use instead of a generated one (1–255 characters of `A-Za-z0-9_-=`; others are replaced)',
    schema: { type: 'string' },
  });

  let document: Document | undefined;
  app.get('/openapi.json', (c) => {
    // Built on first use: by then every route is registered, and it never changes afterwards.
    document ??= describeApi(app, info);
    return c.json(document);
  });

  app.get(
    '/docs',
    swaggerUI({
      title: `${info.title} API`,
      url: 'openapi.json',
      baseUrl: 'docs/assets',
      validatorUrl: 'none',
      displayOperationId: true,
    }),
  );
  app.get('/docs/assets/swagger-ui-dist/:file', async (c) => {
    const asset = SWAGGER_UI_ASSETS[c.req.param('file')];
    if (!asset) return c.notFound();
    const body = await (assetCache[asset.file] ??= readFile(join(swaggerUiDist(), asset.file)));
    return c.body(new Uint8Array(body), 200, { 'content-type': asset.type, 'cache-control': 'public, max-age=3600' });
  });
}

/** The two files the page loads; nothing else of the package is served. */
const SWAGGER_UI_ASSETS: Record<string, { file: string; type: string }> = {
  'swagger-ui.css': { file: 'swagger-ui.css', type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { file: 'swagger-ui-bundle.js', type: 'text/javascript; charset=utf-8' },
};

const assetCache: Record<string, Promise<Buffer>> = {};

function swaggerUiDist(): string {
  return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

/**
 * The document as generated from the routes, plus what the shared middleware does for every
 * operation (createServiceApp in http.ts), so no route has to repeat it:
 * - every answer carries X-Request-Id, and a caller may send one;
 * - an operation that names no security scheme takes no credentials (`security: []`);
 * - any request can end in a 500 problem (the error handler);
 * - a body over the limit is refused with 413 on every method that may carry one.
 */
function describeApi(app: OpenAPIHono<AppEnv>, { title, version, description }: ApiInfo): Document {
  const document = app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: { title, version, description },
    // Relative: the service that serves this document, wherever it is reached (port-forward,
    // ingress, a Service name inside the cluster).
    servers: [{ url: '/', description: 'The service that serves this document' }],
    tags: [
      { name: 'users', description: 'The API' },
      { name: 'operations', description: 'Probes and identity, for Kubernetes and operators' },
    ],
  });
  const responses = (document.components ??= {}).responses ??= {};
  const shared = (name: string, description: string) => {
    responses[name] ??= { description, content: { [PROBLEM_CONTENT_TYPE]: { schema: ref.problem } } };
    return { $ref: `#/components/responses/${name}` };
  };
  for (const pathItem of Object.values(document.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const operation = pathItem[method] as Operation | undefined;
      if (!operation?.responses) continue;
      operation.security ??= [];
      operation.parameters = [{ $ref: '#/components/parameters/RequestId' }, ...(operation.parameters ?? [])];
      if (method !== 'get' && method !== 'head') operation.responses['413'] ??= shared('TooLarge', `Body larger than ${MAX_BODY_BYTES / 1024} KiB`);
      operation.responses['500'] ??= shared('InternalError', 'Unexpected error; the log line with this request id says more');
      for (const response of Object.values(operation.responses)) {
        if ('$ref' in response) continue;
        response.headers = { ...HEADERS_ON_EVERY_ANSWER, ...response.headers };
      }
    }
  }
  // Shared responses carry the header too.
  for (const response of Object.values(responses)) {
    if ('$ref' in response) continue;
    response.headers = { ...HEADERS_ON_EVERY_ANSWER, ...response.headers };
  }
  return document;
}

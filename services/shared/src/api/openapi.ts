import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { swaggerUI } from '@hono/swagger-ui';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { MAX_BODY_BYTES, type AppEnv, PROBLEM_CONTENT_TYPE } from '../http/index.ts';

/** References to the reusable parts every service's document registers (see serveApiDescription). */
export const ref = {
  requestIdHeader: { $ref: '#/components/headers/X-Request-Id' },
  retryAfterHeader: { $ref: '#/components/headers/Retry-After' },
  noSniffHeader: { $ref: '#/components/headers/X-Content-Type-Options' },
  noStoreHeader: { $ref: '#/components/headers/Cache-Control' },
  challengeHeader: { $ref: '#/components/headers/WWW-Authenticate' },
  problem: { $ref: '#/components/schemas/Problem' },
} as const;

/**
 * Headers the shared middleware puts on every answer (http/app.ts, and the data-service read lane), so
 * every documented response declares them. A header added to every answer elsewhere belongs here
 * too: the contract test fails on any header a service sends that its document does not declare.
 */
const HEADERS_ON_EVERY_ANSWER = { 'X-Request-Id': ref.requestIdHeader, 'X-Content-Type-Options': ref.noSniffHeader };

/** What the shared middleware adds to writes and errors only (NO_STORE_HEADERS in http/errors.ts). */
const HEADERS_ON_WRITES_AND_ERRORS = { 'Cache-Control': ref.noStoreHeader };

/** Refusals of auth.ts carry a Bearer challenge (RFC 6750). */
const REFUSAL_STATUSES = new Set(['401', '403']);

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
  app.openAPIRegistry.registerComponent('headers', 'X-Content-Type-Options', {
    description: 'Always `nosniff`: a client must not guess another content type than the one sent',
    schema: { type: 'string', enum: ['nosniff'] },
  });
  app.openAPIRegistry.registerComponent('headers', 'Cache-Control', {
    description: 'On writes and errors: `no-store`, no intermediary may cache or replay the answer',
    schema: { type: 'string', enum: ['no-store'] },
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
 * operation (createServiceApp in http/app.ts), so no route has to repeat it:
 * - every answer carries X-Request-Id and `X-Content-Type-Options: nosniff`, and a caller may
 *   send an X-Request-Id;
 * - every write and every error carries `Cache-Control: no-store`; a refusal (401/403)
 *   `WWW-Authenticate`;
 * - an operation that names no security scheme takes no credentials: `security: []` is OpenAPI's
 *   explicit "public", which Redocly's `security-defined` rule asks for when the document has no
 *   top-level `security`;
 * - any request can end in a 500 problem (the error handler);
 * - a body over the limit is refused with 413 on every method that may carry one.
 * A known path asked with a method it has no operation for answers 405 with `Allow` (http/errors.ts);
 * OpenAPI can hang a response only on an operation, so that is said in `info.description`
 * instead, and test/hardening.test.ts proves it.
 */
function describeApi(app: OpenAPIHono<AppEnv>, { title, version, description }: ApiInfo): Document {
  const document = app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: { title, version, description: `${description}\n\n${METHOD_NOT_ALLOWED}` },
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
  let challenged = false;
  for (const pathItem of Object.values(document.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const operation = pathItem[method] as Operation | undefined;
      if (!operation?.responses) continue;
      const write = method !== 'get' && method !== 'head';
      operation.security ??= [];
      operation.parameters = [{ $ref: '#/components/parameters/RequestId' }, ...(operation.parameters ?? [])];
      if (write) operation.responses['413'] ??= shared('TooLarge', `Body larger than ${MAX_BODY_BYTES / 1024} KiB`);
      operation.responses['500'] ??= shared('InternalError', 'Unexpected error; the log line with this request id says more');
      for (const [status, response] of Object.entries(operation.responses)) {
        if (REFUSAL_STATUSES.has(status)) challenged = true;
        if ('$ref' in response) continue;
        response.headers = declaredHeaders(status, write, response.headers);
      }
    }
  }
  // The shared responses (413 and 500, made by `shared` above) are errors, whatever the method.
  for (const response of Object.values(responses)) {
    if ('$ref' in response) continue;
    response.headers = declaredHeaders('500', true, response.headers);
  }
  // Only a document with refusals has the header: an unused component fails the lint.
  if (challenged) {
    (document.components.headers ??= {})['WWW-Authenticate'] = {
      description: 'The Bearer challenge (RFC 6750): `realm` names the service; `error`, `error_description` and, on 403, the missing `scope` say why (absent when no token was sent)',
      schema: { type: 'string', pattern: '^Bearer realm="[^"]+"' },
    };
  }
  return document;
}

const METHOD_NOT_ALLOWED =
  'A path listed here, asked with a method it has no operation for, answers 405 (problem+json) with `Allow` naming the methods it has.';

type Headers = NonNullable<Exclude<NonNullable<Operation['responses']>[string], { $ref: string }>['headers']>;

/** The headers a response declares: its own, plus what the shared middleware adds to it. */
function declaredHeaders(status: string, write: boolean, own: Headers | undefined): Headers {
  return {
    ...HEADERS_ON_EVERY_ANSWER,
    ...(write || Number(status) >= 400 ? HEADERS_ON_WRITES_AND_ERRORS : {}),
    ...(REFUSAL_STATUSES.has(status) ? { 'WWW-Authenticate': ref.challengeHeader } : {}),
    ...own,
  };
}

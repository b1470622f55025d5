import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { ref } from './openapi.ts';

// Both services validate names the same way: data-service must not query what user-service
// could never have stored.

/** The NOTIFY channel the users table announces changes on; the payload is the user's name. */
export const USERS_CHANNEL = 'users_changed';

const NAME_MAX = 100;
export const INFO_MAX = 10_000;

export const UserName = z
  .string()
  .normalize('NFC')
  .trim()
  .min(1, 'must not be empty')
  .max(NAME_MAX, `must be at most ${NAME_MAX} characters`)
  // Written without flags and without \p{…}: the OpenAPI document publishes this pattern, and JSON
  // Schema validators (and other languages' regex engines) read it as a plain ECMA-262 pattern.
  // Cc is exactly U+0000–U+001F and U+007F–U+009F.
  .regex(/^[^\x00-\x1F\x7F-\x9F]*$/, 'must not contain control characters')
  .openapi({ example: 'Amit', description: `1–${NAME_MAX} characters after trimming, no control characters` });

export const UserInfo = z
  .string()
  .max(INFO_MAX, `must be at most ${INFO_MAX} characters`)
  // PostgreSQL text cannot hold NUL; reject it here rather than fail on insert.
  .regex(/^[^\x00]*$/, 'must not contain NUL characters')
  .openapi({ example: 'Software engineer in Bengaluru' });

export const User = z
  .object({
    name: z.string(),
    info: z.string(),
    createdAt: z.string().openapi({ format: 'date-time' }),
    updatedAt: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('User');

export type User = z.infer<typeof User>;

export const NameParam = z.object({ name: UserName.openapi({ param: { name: 'name', in: 'path' } }) });

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z
      .array(
        z.object({
          in: z.enum(['body', 'query', 'path', 'header', 'cookie']),
          field: z.string().optional().openapi({ description: 'Dotted path of the field; absent when the whole body is wrong' }),
          message: z.string(),
        }),
      )
      .optional()
      .openapi({ description: 'For invalid input: each invalid part of the request' }),
  })
  .openapi('Problem', { description: 'RFC 9457 problem details' });

export const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: Problem } },
});

/** What every route that reads or writes PostgreSQL answers while it is away (see problemForError). */
export const databaseUnavailableResponse = {
  ...problemResponse('PostgreSQL is unavailable; retry after `Retry-After` seconds'),
  headers: { 'Retry-After': ref.retryAfterHeader },
};

/**
 * The query of an operation that takes no query parameters. Unknown query parameters are
 * rejected like unknown body fields (http/validation-problem.ts says why).
 */
export const NoQuery = z.strictObject({});

/** The row as stored, mapped to the API's shape. */
export interface UserRow {
  name: string;
  info: string;
  created_at: Date;
  updated_at: Date;
}

export function toUser(row: UserRow): User {
  return {
    name: row.name,
    info: row.info,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** The OpenAPI security scheme of the services: a JWT in `Authorization: Bearer …`. */
export const BEARER_SCHEME = 'bearerAuth';

/** An operation's `security`: a bearer token carrying `scope` (OpenAPI 3.1 lists required roles for http schemes). */
export const bearerSecurity = (scope: string) => [{ [BEARER_SCHEME]: [scope] }];

/** The answers of an operation that needs a token (see auth.ts). */
export const tokenResponses = (scope: string) => ({
  401: problemResponse('No token, or an invalid or expired one; see WWW-Authenticate'),
  403: problemResponse(`The token lacks the ${scope} scope`),
});

export function registerBearerScheme(app: OpenAPIHono<any, any, any>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', BEARER_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A JWT signed with the service key (HS256) or by the identity provider (RS256/ES256); its `scope` claim lists what it may do.',
  });
}

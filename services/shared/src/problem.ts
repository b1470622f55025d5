import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { STATUS_CODES } from 'node:http';

/** RFC 9457 problem details. `errors` lists field-level validation failures. */
export interface Problem {
  type?: string;
  title?: string;
  status: ContentfulStatusCode;
  detail?: string;
  errors?: { field: string; message: string }[];
  headers?: Record<string, string>;
}

export function problem(c: Context, { status, title, detail, type, errors, headers }: Problem): Response {
  const body: Record<string, unknown> = {
    type: type ?? 'about:blank',
    title: title ?? STATUS_CODES[status] ?? 'Error',
    status,
  };
  if (detail) body.detail = detail;
  body.instance = c.req.path;
  if (errors?.length) body.errors = errors;
  const requestId = c.get('requestId' as never) as string | undefined;
  if (requestId) body.requestId = requestId;
  return c.body(JSON.stringify(body), status, { 'content-type': 'application/problem+json', ...headers });
}

/** Thrown by handlers and middleware; turned into a problem response by the error handler. */
export class ProblemError extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    // An answer, not a fault: nobody reads its stack, and capturing one was most of a 404's cost.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(problem.detail ?? problem.title ?? String(problem.status));
    Error.stackTraceLimit = limit;
    this.problem = problem;
  }
}

import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { STATUS_CODES } from 'node:http';

/** One invalid part of a request: where it was, which field (absent for the whole body), what is wrong. */
export interface FieldError {
  in: 'body' | 'query' | 'path' | 'header' | 'cookie';
  field?: string;
  message: string;
}

/** RFC 9457 problem details. `errors` lists field-level validation failures. */
export interface Problem {
  type?: string;
  title?: string;
  status: ContentfulStatusCode;
  detail?: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problem(c: Context, details: Problem): Response {
  const body = problemBody(details, c.req.path, c.get('requestId' as never) as string | undefined);
  return c.body(body, details.status, { 'content-type': PROBLEM_CONTENT_TYPE, ...details.headers });
}

/** The problem document for a request path; also used by code that answers before the app. */
export function problemBody({ status, title, detail, type, errors }: Problem, instance: string, requestId: string | undefined): string {
  const body: Record<string, unknown> = {
    type: type ?? 'about:blank',
    title: title ?? STATUS_CODES[status] ?? 'Error',
    status,
  };
  if (detail) body.detail = detail;
  body.instance = instance;
  if (errors?.length) body.errors = errors;
  if (requestId) body.requestId = requestId;
  return JSON.stringify(body);
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

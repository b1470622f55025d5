import type { z } from '@hono/zod-openapi';
import type { FieldError, Problem } from './problem.ts';

/** Where a request's invalid part was: the names clients know, not the validator's targets. */
const LOCATION = { json: 'body', query: 'query', param: 'path', header: 'header', form: 'body', cookie: 'cookie' } as const;
type InputLocation = FieldError['in'];

interface FailedValidation {
  error: z.ZodError;
  target: string;
  /**
   * What the validator was given: the parsed body, the query parameters, the path parameters.
   * @hono/zod-validator passes it to the hook at run time; its types leave it out.
   */
  data?: unknown;
}

/**
 * The 400 for input that failed its schema, one entry per problem, worded for the client: a
 * missing field "is required", an unknown one "is not a known field" (or query parameter), a
 * wrong type "must be a string". Unknown fields and unknown query parameters are both rejected:
 * a misspelt `limt` or `inf` would otherwise be ignored silently, and the client would not learn
 * why its input had no effect.
 */
export function validationProblem({ error, target, data }: FailedValidation): Problem {
  const where: InputLocation = LOCATION[target as keyof typeof LOCATION] ?? 'body';
  const errors = error.issues.flatMap((issue) => fieldErrors(issue, where, data));
  return {
    status: 400,
    title: 'Invalid request',
    detail: errors.map((e) => (e.field === undefined ? `the ${e.in} ${e.message}` : `${e.field}: ${e.message}`)).join('; '),
    errors,
  };
}

function fieldErrors(issue: z.core.$ZodIssue, where: InputLocation, data: unknown): FieldError[] {
  const at = (path: PropertyKey[]) => (path.length ? { field: path.map(String).join('.') } : {});
  switch (issue.code) {
    case 'unrecognized_keys': {
      const unknown = where === 'query' ? 'is not a known query parameter' : 'is not a known field';
      return issue.keys.map((key) => ({ in: where, ...at([...issue.path, key]), message: unknown }));
    }
    case 'invalid_type': {
      const message = valueAt(data, issue.path) === undefined && issue.path.length ? 'is required' : `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
      return [{ in: where, ...at(issue.path), message }];
    }
    case 'too_small':
    case 'too_big':
      // The schemas word their string bounds themselves; zod's own words are kept for the rest.
      if (issue.origin === 'number') {
        const bound = issue.code === 'too_small' ? `at least ${String(issue.minimum)}` : `at most ${String(issue.maximum)}`;
        return [{ in: where, ...at(issue.path), message: `must be ${bound}` }];
      }
      return [{ in: where, ...at(issue.path), message: issue.message }];
    default:
      return [{ in: where, ...at(issue.path), message: issue.message }];
  }
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a JSON object',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'an array',
};

function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

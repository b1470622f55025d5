import { randomUUID } from 'node:crypto';
import { requestId } from 'hono/request-id';

const REQUEST_ID_MAX = 255;
/** hono/request-id's own pattern: a caller's id is kept only if it matches. */
const REQUEST_ID_PATTERN = /^[\w\-=]+$/;

/** The app's X-Request-Id middleware: a sane caller id is kept, else one is made. */
export const requestIds = () => requestId({ limitLength: REQUEST_ID_MAX });

/** The same rule as requestIds, for code that answers before the app (the read lane). */
export function requestIdFrom(given: string | string[] | undefined): string {
  return typeof given === 'string' && given.length <= REQUEST_ID_MAX && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
}

import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import type { Logger } from '../observability/index.ts';
import { NO_STORE_HEADERS } from './errors.ts';
import { PROBLEM_CONTENT_TYPE, problemBody, type Problem } from './problem.ts';
import { requestIdFrom } from './request-id.ts';

/** Bytes of all request headers together, the request line included (node's default, stated so it cannot drift). */
export const MAX_HEADER_BYTES = 16 * 1024;

/** A request path longer than this is not echoed back as the problem's `instance`. */
const INSTANCE_MAX = 1024;

/**
 * What node:http's parser refuses before any app sees the request, in the services' own
 * problem+json shape: node's default answer is a bare status line with no body, no request id and
 * none of the headers every other answer carries. Used as the server's `clientError` listener.
 */
export function answerClientErrors(logger: Logger) {
  return (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex): void => {
    // A reset, or a response already under way on this socket: there is nobody to tell (node's
    // own listener makes the same check).
    const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || answering?.headersSent) {
      socket.destroy();
      return;
    }
    const problem = clientErrorProblem(error.code);
    const requestId = requestIdFrom(undefined);
    const body = problemBody(problem, requestPath(error.rawPacket), requestId);
    const headers: Record<string, string | number> = {
      'content-type': PROBLEM_CONTENT_TYPE,
      'content-length': Buffer.byteLength(body),
      'x-request-id': requestId,
      ...NO_STORE_HEADERS,
      connection: 'close',
    };
    const head = [`HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
    logger.info({ requestId, status: problem.status, code: error.code }, 'request refused by the HTTP parser');
    // As node's own listener does: write, then close at once rather than read on what is left.
    socket.write(`${head.join('\r\n')}\r\n\r\n${body}`);
    socket.destroy();
  };
}

/** Node's own choice of status (431, 413, 408 or 400), worded for the client. */
export function clientErrorProblem(code: string | undefined): Problem {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return {
      status: 431,
      detail: `the request line and headers together are larger than ${MAX_HEADER_BYTES / 1024} KiB`,
      errors: [{ in: 'header', message: `are larger than ${MAX_HEADER_BYTES / 1024} KiB together, the URL included` }],
    };
  }
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') {
    return { status: 413, detail: 'the chunk extensions of the body are too large', errors: [{ in: 'body', message: 'has chunk extensions that are too large' }] };
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, detail: 'the request did not arrive in time' };
  return {
    status: 400,
    title: 'Invalid request',
    detail: 'the request is not valid HTTP/1.1',
    errors: [{ in: 'header', message: `could not be parsed (${code ?? 'unknown error'})` }],
  };
}

/** The path of the request line in what the parser had read, when it got that far; never the query. */
function requestPath(raw: Buffer | undefined): string | undefined {
  const line = raw?.subarray(0, INSTANCE_MAX + 32).toString('latin1').split('\r\n', 1)[0];
  const target = line?.split(' ')[1]?.split('?', 1)[0];
  return target?.startsWith('/') && target.length <= INSTANCE_MAX ? target : undefined;
}

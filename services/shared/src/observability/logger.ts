import { pino, type Logger } from 'pino';

export type { Logger };

/** What a logged error keeps besides pino's type, message and stack: codes that say what failed. */
const ERROR_FIELDS = ['code', 'errno', 'syscall', 'address', 'port'] as const;

/**
 * The `err` of a log line: pino's own error serializer (type, message and stack, with causes and
 * an AggregateError's errors), cut down to ERROR_FIELDS, because drivers attach more than a log
 * should carry: postgres.js adds the query and its parameters, the row's key values in `detail`.
 * A value that is not an error is logged as it is.
 */
export function serializeError(error: unknown): unknown {
  const full = pino.stdSerializers.err(error as Error) as unknown;
  if (full === error || full === null || typeof full !== 'object') return full;
  return keptOf(full as Record<string, unknown>);
}

function keptOf(serialized: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = { type: serialized.type, message: serialized.message, stack: serialized.stack };
  for (const field of ERROR_FIELDS) if (serialized[field] !== undefined) kept[field] = serialized[field];
  // pino has serialized these already; they are only cut down here.
  if (Array.isArray(serialized.aggregateErrors)) kept.aggregateErrors = serialized.aggregateErrors.map((each: Record<string, unknown>) => keptOf(each));
  return kept;
}

/**
 * JSON lines on stdout. Redaction is a second line of defence: nothing should log a secret in the
 * first place, but a connection option object or a header bag logged by mistake stays clean.
 */
export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: isoTimeOncePerMillisecond,
      formatters: { level: (label) => ({ level: label }) },
      // Log errors as `{ err: error }`, the error itself: this serializer decides what of it is kept.
      serializers: { err: serializeError },
      // Exact paths only: wildcard paths doubled the cost of every line, access lines included.
      redact: {
        paths: ['password', 'url', 'headers.authorization', 'headers.cookie', 'err.password', 'err.url'],
        censor: '[redacted]',
      },
    },
    destination ?? batchedStdout(),
  );
}

/**
 * stdout written in batches of about 4 KB instead of one write(2) per line (a write per line was a
 * noticeable share of a cache hit's CPU). A quiet service still flushes every 250 ms, and pino flushes
 * what is left when the process exits, on a signal or a crash; only a SIGKILL can lose a batch.
 */
function batchedStdout(): pino.DestinationStream {
  return pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 });
}

/**
 * Adds fields to every line of `logger` and its children (tracing's trace_id and span_id). pino
 * takes a mixin only when a logger is built, and loggers are built before tracing starts (it
 * reports its start on them), so it is attached afterwards through pino's published symbols.
 * Loggers that never get one pay nothing per line.
 */
export function addLogFields(logger: Logger, fields: () => Record<string, string>): void {
  (logger as unknown as Record<symbol, unknown>)[pino.symbols.mixinSym] = fields;
}

let lastMs = 0;
let lastTime = '';

/** pino's ISO timestamp, formatted at most once per millisecond (busy services log many per ms). */
function isoTimeOncePerMillisecond(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

// The shape of tracing, apart from both its starter (tracing.ts) and the SDK behind it
// (tracing-sdk.ts), so the two need not import each other.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CacheRedis } from '../cache/index.ts';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export type SpanAttributes = Record<string, string | number | boolean>;

/**
 * What the services ask of tracing. The OpenTelemetry SDK behind it (tracing-sdk.ts) is imported
 * only when tracing is configured (startTracing in tracing.ts); with tracing off the services hold
 * no Tracing at all (every hook is `tracing?.…` or chosen once at start), so no request pays for it.
 */
export interface Tracing {
  /** Wraps the server's request listener: a SERVER span per request, continuing a W3C `traceparent`. */
  traceRequests(listener: RequestListener): RequestListener;
  /** Names the current request's span after its route template, once the route is known. */
  nameRequest(method: string, route: string): void;
  /** Runs `work` in a child span of the current span; `work` can add attributes as it learns them. */
  inSpan<T>(name: string, attributes: SpanAttributes, work: (annotate: (attributes: SpanAttributes) => void) => Promise<T>): Promise<T>;
  /** A child span for something that was answered without waiting (an in-process cache hit). */
  instant(name: string, attributes: SpanAttributes): void;
  /** Runs a postgres.js query through `run` inside a CLIENT span named after the statement. */
  query<T>(query: Promise<T>, run: (query: Promise<T>) => Promise<T>): Promise<T>;
  /** Gives every command this client sends during a traced request a CLIENT span. */
  instrumentRedis(redis: CacheRedis): void;
  /** trace_id and span_id of the current span for a log line, or an empty object outside any. */
  logFields(): Record<string, string>;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** Where queries go, for the attributes of their spans. */
export interface PostgresServer {
  address: string;
  port: number;
  database: string;
}

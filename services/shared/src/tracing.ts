import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CommonConfig } from './config.ts';
import { addLogFields, type Logger } from './logger.ts';
import type { CacheRedis } from './cache-protocol.ts';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export type SpanAttributes = Record<string, string | number | boolean>;

/**
 * What the services ask of tracing. The OpenTelemetry SDK behind it (tracing-sdk.ts) is imported
 * only when tracing is configured; with tracing off the services hold no Tracing at all (every
 * hook is `tracing?.…` or chosen once at start), so no request pays for it.
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
  /** The current span's W3C `traceparent` (and `tracestate`), as a request to another service would carry them. */
  traceContext(): { traceparent?: string; tracestate?: string };
  /** trace_id and span_id of the current span for a log line, or an empty object outside any. */
  logFields(): Record<string, string>;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** The OpenTelemetry variables the services read themselves; the SDK reads the rest (sampler, headers, …). */
export type TracingConfig = Pick<
  CommonConfig,
  'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' | 'OTEL_SDK_DISABLED' | 'OTEL_TRACES_EXPORTER'
>;

/**
 * Where spans go, following OpenTelemetry's rules for the two endpoint variables: the
 * traces-specific one is used as given, the general one gets `/v1/traces` appended. Undefined
 * means tracing is off: no endpoint, OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none.
 */
export function tracesEndpoint(config: TracingConfig): string | undefined {
  if (config.OTEL_SDK_DISABLED || config.OTEL_TRACES_EXPORTER === 'none') return undefined;
  if (config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  return base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * Starts tracing for a service when it is configured, else returns undefined without loading
 * anything of OpenTelemetry. Log lines written inside a traced request then carry its ids.
 */
export async function startTracing(
  service: string,
  config: TracingConfig & Pick<CommonConfig, 'DATABASE_URL' | 'PGHOST' | 'PGPORT' | 'PGDATABASE'>,
  logger: Logger,
): Promise<Tracing | undefined> {
  const endpoint = tracesEndpoint(config);
  if (endpoint === undefined) return undefined;
  const { createTracing } = await import('./tracing-sdk.ts');
  const tracing = createTracing({ service, endpoint, postgres: postgresServer(config), logger });
  addLogFields(logger, tracing.logFields);
  logger.info({ endpoint: new URL(endpoint).origin }, 'tracing on');
  return tracing;
}

export interface PostgresServer {
  address: string;
  port: number;
  database: string;
}

/** Where queries go, for the attributes of their spans (DATABASE_URL wins, as in db.ts). */
function postgresServer(config: Pick<CommonConfig, 'DATABASE_URL' | 'PGHOST' | 'PGPORT' | 'PGDATABASE'>): PostgresServer {
  if (!config.DATABASE_URL) return { address: config.PGHOST, port: config.PGPORT, database: config.PGDATABASE };
  const url = new URL(config.DATABASE_URL);
  return { address: url.hostname, port: Number(url.port || 5432), database: decodeURIComponent(url.pathname.slice(1)) || 'postgres' };
}

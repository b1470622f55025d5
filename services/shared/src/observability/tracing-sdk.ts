// Loaded only when tracing is configured (tracing.ts imports it dynamically): nothing here may be
// imported statically from anywhere else.
import {
  context,
  createContextKey,
  diag,
  DiagLogLevel,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  DB_SYSTEM_NAME_VALUE_POSTGRESQL,
} from '@opentelemetry/semantic-conventions';
import type { Logger } from './logger.ts';
import type { CacheRedis } from '../cache/index.ts';
import type { PostgresServer, RequestListener, Tracing } from './tracing-interface.ts';
import { version } from '../config/index.ts';

export interface TracingOptions {
  service: string;
  /** The OTLP/HTTP traces URL (tracesEndpoint in tracing.ts). */
  endpoint: string;
  postgres: PostgresServer;
  /** Where the SDK's own warnings go: an export that fails (collector unreachable, say). */
  logger: Logger;
}

/** The request's own span, reachable from its child spans' contexts too. */
const REQUEST_SPAN = createContextKey('request span');

/**
 * A tracer provider per service (tests run both services in one process, each with its own
 * service.name). The SDK reads the standard variables itself: OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES (resource), OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_* (batching),
 * OTEL_EXPORTER_OTLP(_TRACES)_HEADERS/_TIMEOUT/_COMPRESSION (exporter).
 */
export function createTracing({ service, endpoint, postgres, logger }: TracingOptions): Tracing {
  // The SDK reports failed exports through diag, silent unless given a logger. The message only:
  // the arguments may hold exporter settings, headers (credentials) included.
  // Exports start from timers armed inside some request; their warnings are not that request's.
  const sdkLog = (message: string) => context.with(ROOT_CONTEXT, () => logger.warn({ detail: message }, 'tracing'));
  diag.setLogger({ error: sdkLog, warn: sdkLog, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN);
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: service, [ATTR_SERVICE_VERSION]: version }))
    .merge(detectResources({ detectors: [envDetector] }));
  // OTLP/HTTP with JSON bodies: every OTLP/HTTP receiver accepts them, and the JSON exporter needs
  // no protobuf runtime.
  const exporter = new OTLPTraceExporter({ url: endpoint });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  // The context manager (AsyncLocalStorage) and the W3C traceparent/baggage propagator are
  // process-wide; the first service to start registers them, and spans come from this provider.
  provider.register();
  const tracer = provider.getTracer(service, version);

  const postgresAttributes: Attributes = {
    [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
    [ATTR_DB_NAMESPACE]: postgres.database,
    [ATTR_SERVER_ADDRESS]: postgres.address,
    [ATTR_SERVER_PORT]: postgres.port,
  };

  function child(name: string, attributes: Attributes): Span {
    return tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes });
  }

  function failed(span: Span, error: unknown): void {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    span.setAttribute(ATTR_ERROR_TYPE, errorType(error));
  }

  /** Ends the span when the promise settles, marking it failed on a rejection; returns the promise. */
  function endWith<T>(span: Span, promise: Promise<T>): Promise<T> {
    promise.then(
      () => span.end(),
      (error: unknown) => {
        failed(span, error);
        span.end();
      },
    );
    return promise;
  }

  return {
    traceRequests(listener: RequestListener): RequestListener {
      return (req, res) => {
        const url = req.url ?? '/';
        const path = url.split('?', 1)[0]!;
        // Probes and scrapes every few seconds from every replica would bury the traces of requests.
        if (path.startsWith('/health') || path === '/metrics') return listener(req, res);
        const method = req.method ?? 'GET';
        const parent = propagation.extract(ROOT_CONTEXT, req.headers);
        const span = tracer.startSpan(
          method,
          { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_PATH]: path, [ATTR_URL_SCHEME]: 'http' } },
          parent,
        );
        res.once('close', () => {
          span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, res.statusCode);
          if (res.statusCode >= 500) {
            span.setStatus({ code: SpanStatusCode.ERROR });
            span.setAttribute(ATTR_ERROR_TYPE, String(res.statusCode));
          }
          span.end();
        });
        context.with(trace.setSpan(parent, span).setValue(REQUEST_SPAN, span), listener, undefined, req, res);
      };
    },

    nameRequest(method, route) {
      const span = context.active().getValue(REQUEST_SPAN) as Span | undefined;
      span?.updateName(`${method} ${route}`).setAttribute(ATTR_HTTP_ROUTE, route);
    },

    inSpan(name, attributes, work) {
      const span = child(name, attributes);
      return endWith(
        span,
        context.with(trace.setSpan(context.active(), span), () => work((more) => span.setAttributes(more))),
      );
    },

    instant(name, attributes) {
      child(name, attributes).end();
    },

    query(query, run) {
      const text = queryText(query);
      const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
      const table = /\b(?:from|into|update)\s+"?(\w+)/i.exec(text)?.[1];
      const span = tracer.startSpan(table ? `${operation} ${table}` : operation, {
        kind: SpanKind.CLIENT,
        attributes: {
          ...postgresAttributes,
          [ATTR_DB_OPERATION_NAME]: operation,
          // The statement with its $n placeholders: never a parameter's value.
          [ATTR_DB_QUERY_TEXT]: text,
          ...(table && { [ATTR_DB_COLLECTION_NAME]: table }),
        },
      });
      return endWith(span, run(query));
    },

    instrumentRedis(redis) {
      const { host, port, db } = redis.options;
      const redisAttributes: Attributes = {
        [ATTR_DB_SYSTEM_NAME]: 'redis',
        [ATTR_DB_NAMESPACE]: String(db ?? 0),
        ...(host && { [ATTR_SERVER_ADDRESS]: host }),
        ...(port && { [ATTR_SERVER_PORT]: port }),
      };
      // Every command, scripts included, goes through sendCommand: one hook covers them all.
      // Commands outside a request (evictions on NOTIFY, script loading) would each be a trace of
      // their own; they get no span.
      const send = redis.sendCommand;
      redis.sendCommand = function tracedSendCommand(this: CacheRedis, ...args: Parameters<CacheRedis['sendCommand']>) {
        const [command] = args;
        if (trace.getSpan(context.active()) === undefined) return send.apply(this, args);
        const operation = command.name.toUpperCase();
        const span = tracer.startSpan(operation, { kind: SpanKind.CLIENT, attributes: { ...redisAttributes, [ATTR_DB_OPERATION_NAME]: operation } });
        endWith(span, command.promise);
        return send.apply(this, args);
      };
    },

    logFields(): Record<string, string> {
      // A new object each time: pino merges the line's own fields into it.
      const spanContext = trace.getSpan(context.active())?.spanContext();
      if (!spanContext || !isSpanContextValid(spanContext)) return {};
      return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
    },

    // The last export failing must not fail the service's shutdown.
    shutdown: () => provider.shutdown().catch((error: unknown) => sdkLog(`last export failed: ${error instanceof Error ? error.message : String(error)}`)),
  };
}

/** A postgres.js query's statement text, its parameters as $1, $2, … (the tagged template's strings). */
function queryText(query: Promise<unknown>): string {
  const strings = (query as { strings?: readonly string[] | string }).strings;
  // sql.unsafe() keeps its text as one string.
  if (typeof strings === 'string') return strings.replace(/\s+/g, ' ').trim();
  if (!Array.isArray(strings)) return '';
  return strings
    .reduce((text, part, index) => (index === 0 ? part : `${text}$${index}${part}`), '')
    .replace(/\s+/g, ' ')
    .trim();
}

function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'Error';
}

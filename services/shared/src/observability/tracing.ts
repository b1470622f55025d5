import type { CommonConfig } from '../config/index.ts';
import { addLogFields, type Logger } from './logger.ts';
import type { PostgresServer, Tracing } from './tracing-interface.ts';

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


/** Where queries go, for the attributes of their spans (DATABASE_URL wins, as in storage/db.ts). */
function postgresServer(config: Pick<CommonConfig, 'DATABASE_URL' | 'PGHOST' | 'PGPORT' | 'PGDATABASE'>): PostgresServer {
  if (!config.DATABASE_URL) return { address: config.PGHOST, port: config.PGPORT, database: config.PGDATABASE };
  const url = new URL(config.DATABASE_URL);
  return { address: url.hostname, port: Number(url.port || 5432), database: decodeURIComponent(url.pathname.slice(1)) || 'postgres' };
}

import { availableParallelism } from 'node:os';
import { z } from 'zod';

/** A configuration problem, reported as one line naming the variable and what it expects. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const port = z.coerce.number().int().min(1).max(65_535);
/** 0 asks the OS for a free port (tests). */
const listenPort = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);
const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

export const env = { port, listenPort, positiveInt, nonNegativeInt, flag };

/**
 * PostgreSQL connections per pool when PG_POOL_MAX is unset: one per CPU this process may use
 * (Node reads the container's CPU quota), at least 2 and at most 10. postgres.js pipelines
 * queries on a connection, so a few connections carry many requests; more of them meant more
 * server processes competing for the same cores, and fewer uncached reads per second, not more.
 */
export const DEFAULT_PG_POOL_MAX = Math.min(10, Math.max(2, availableParallelism()));

/** Settings every service reads: logging, PostgreSQL, Redis, shutdown. */
export const commonEnv = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'expected a postgres:// URL' }).optional(),
  PGHOST: z.string().default('127.0.0.1'),
  PGPORT: port.default(5432),
  PGDATABASE: z.string().default('postgres'),
  PGUSER: z.string().default('postgres'),
  PGPASSWORD: z.string().optional(),
  PGSSLMODE: z.enum(['disable', 'prefer', 'require', 'verify-full']).default('disable'),
  PG_POOL_MAX: positiveInt.max(100).default(DEFAULT_PG_POOL_MAX),
  /** A query not answered by then fails the request with 503 (and PostgreSQL cancels it too). */
  PG_QUERY_TIMEOUT_MS: positiveInt.max(600_000).default(5_000),

  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' }).optional(),
  REDIS_HOST: z.string().default('127.0.0.1'),
  REDIS_PORT: port.default(6379),
  REDIS_USERNAME: z.string().optional(),
  REDIS_PASSWORD: z.string().optional(),
  REDIS_DB: nonNegativeInt.max(15).default(0),
  REDIS_KEY_PREFIX: z.string().default('users:'),
  /** A Redis command slower than this counts as a failure; the request goes on without Redis. */
  REDIS_COMMAND_TIMEOUT_MS: positiveInt.max(10_000).default(200),
  /**
   * How long a data-service replica may answer from its in-process tier without renewing its
   * lease, and so the longest a write waits for a silent replica (cache-protocol.ts). Set the same
   * on both services: user-service waits this long when Redis is down.
   */
  CACHE_LEASE_MS: positiveInt.min(100).max(60_000).default(2_000),

  /**
   * OpenTelemetry's own variables: tracing is on when an OTLP/HTTP endpoint is set (see
   * observability/tracing.ts). The SDK reads the others (OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, …) itself.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
  /** As the specification says: only "true" (any case) disables; other values leave tracing as configured. */
  OTEL_SDK_DISABLED: z.string().optional().transform((value) => value?.trim().toLowerCase() === 'true'),
  OTEL_TRACES_EXPORTER: z.string().trim().toLowerCase().optional(),
  /** Unset: /metrics is answered on PORT (local runs). Set (the images: 9464): only there, apart from the API. */
  METRICS_PORT: listenPort.optional(),
  /** A client must have sent all request headers by then, and the whole request by the next: slow clients cannot hold sockets. */
  HTTP_HEADERS_TIMEOUT_MS: positiveInt.max(120_000).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: positiveInt.max(600_000).default(30_000),
  /** Idle keep-alive sockets close after this; above the 60 s idle timeout of common load balancers, so they close first. */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: positiveInt.max(600_000).default(65_000),

  SHUTDOWN_DELAY_MS: nonNegativeInt.max(60_000).default(0),
  SHUTDOWN_TIMEOUT_MS: positiveInt.max(120_000).default(10_000),
});

export type CommonConfig = z.infer<typeof commonEnv>;

/**
 * Validates the environment once. Empty strings count as unset, so a Kubernetes env entry that
 * renders as "" (an optional Secret key, say) falls back to the default instead of failing.
 */
export function parseEnv<S extends z.ZodType>(schema: S, source: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const present = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const variable = issue.path.join('.') || 'environment';
  // Never echo the value: it may be a password or a URL with credentials in it.
  throw new ConfigError(`invalid configuration: ${variable}: ${issue.message}`);
}

/** For main modules: a bad environment ends the process with exactly one line on stderr. */
export function parseEnvOrExit<S extends z.ZodType>(schema: S): z.infer<S> {
  try {
    return parseEnv(schema);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

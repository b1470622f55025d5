import postgres from 'postgres';
import type { CommonConfig } from '../config/index.ts';
import type { Metrics, Tracing } from '../observability/index.ts';
import { TimeoutError, withTimeout } from './time.ts';

export type Sql = postgres.Sql;

export type PgOptions = postgres.Options<Record<string, postgres.PostgresType>>;

/** Connection options from the validated config; DATABASE_URL wins over the PG* variables. */
export function pgOptions(config: CommonConfig, applicationName: string): PgOptions {
  const options: PgOptions = {
    max: config.PG_POOL_MAX,
    // Fail fast when PostgreSQL is away: requests answer 503 instead of queueing for 30 s.
    connect_timeout: 3,
    // postgres.js waits before reconnecting, up to 20 s after repeated failures, and a query
    // waits with it. Capped at 1 s, requests answer 503 promptly during an outage and the pool
    // is back within a second of PostgreSQL.
    backoff: (retries) => Math.min(0.05 * 2 ** retries, 1),
    idle_timeout: 60,
    max_lifetime: 30 * 60,
    onnotice: () => {},
    // The server gives up on a statement when the client does (see queryTracker).
    connection: { application_name: applicationName, statement_timeout: config.PG_QUERY_TIMEOUT_MS },
  };
  if (!config.DATABASE_URL) {
    Object.assign(options, {
      host: config.PGHOST,
      port: config.PGPORT,
      database: config.PGDATABASE,
      username: config.PGUSER,
      password: config.PGPASSWORD,
    });
  }
  if (config.PGSSLMODE !== 'disable') options.ssl = config.PGSSLMODE;
  return options;
}

export function createSql(config: CommonConfig, applicationName: string, overrides: PgOptions = {}): Sql {
  const options = { ...pgOptions(config, applicationName), ...overrides };
  return config.DATABASE_URL ? postgres(config.DATABASE_URL, options) : postgres(options);
}

const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '42P01', // undefined_table: the schema is not migrated yet
  '57014', // query_canceled: statement_timeout
  'QUERY_TIMEOUT',
]);

/** True when an error means "PostgreSQL is not reachable right now", as opposed to a bug. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  return unavailableCodes.has(code) || code.startsWith('08');
}

/**
 * Wraps queries so the pool-use gauge counts each while it holds or waits for a connection, and
 * so none waits forever: postgres.js can leave a query pending when its connection is reset just
 * as the query is written. Past the timeout the caller gets a QUERY_TIMEOUT error (a 503).
 * With tracing, each query is a span of the request that sent it.
 */
export function queryTracker(metrics: Metrics, timeoutMs: number, tracing?: Tracing) {
  const track = async <T>(query: Promise<T>): Promise<T> => {
    metrics.dbQueriesInFlight.inc();
    try {
      return await withTimeout(query, timeoutMs).catch((error: unknown) => {
        throw error instanceof TimeoutError ? Object.assign(new Error(`query timed out after ${timeoutMs} ms`), { code: 'QUERY_TIMEOUT' }) : error;
      });
    } finally {
      metrics.dbQueriesInFlight.dec();
    }
  };
  return tracing ? <T>(query: Promise<T>): Promise<T> => tracing.query(query, track) : track;
}

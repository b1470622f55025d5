import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { revision, version } from '../config/index.ts';

/**
 * Buckets of the request histogram, in seconds. Fine at the bottom (a cache hit takes well under
 * a millisecond) and reaching past every timeout a request can run into: a Redis command
 * (REDIS_COMMAND_TIMEOUT_MS, at most 10 s), PostgreSQL's connect (3 s) plus its query
 * (PG_QUERY_TIMEOUT_MS, 5 s by default), so a timed-out request lands in a bucket, not in +Inf.
 */
export const REQUEST_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** One registry per service instance, so tests can build many apps in one process. */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  // Gauges misnamed as counters (promtool rejects a gauge ending in _total); the same numbers
  // remain, split by type, in nodejs_active_handles, nodejs_active_requests, nodejs_active_resources.
  for (const misnamed of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(misnamed);
  }

  // OpenTelemetry's http.server.request.duration, named and labelled as Prometheus exports it.
  const httpDuration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP server requests, by method, route template and status code',
    labelNames: ['http_request_method', 'http_route', 'http_response_status_code'] as const,
    buckets: REQUEST_DURATION_BUCKETS,
    registers: [registry],
  });

  const buildInfo = new Gauge({
    name: 'users_build_info',
    help: 'Always 1; the labels say which version and source revision this process runs',
    labelNames: ['version', 'revision'] as const,
    registers: [registry],
  });
  buildInfo.set({ version, revision }, 1);

  const dbQueriesInFlight = new Gauge({
    name: 'db_pool_queries_in_flight',
    help: 'PostgreSQL queries currently holding or waiting for a pool connection',
    registers: [registry],
  });

  const dbPoolMax = new Gauge({
    name: 'db_pool_max_connections',
    help: 'Configured size of the PostgreSQL connection pool',
    registers: [registry],
  });

  return { registry, httpDuration, dbQueriesInFlight, dbPoolMax };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** What a service knows about its Redis tier; "flushing" is data-service's re-validation after missed evictions. */
export type RedisState = 'up' | 'down' | 'flushing';
const REDIS_STATES: readonly RedisState[] = ['up', 'down', 'flushing'];

/**
 * The Redis tier's state as a state set: one series per state, 1 for the current one. Read at
 * scrape time from the same function readiness reports, so the two never disagree.
 */
export function redisStateMetric(metrics: Metrics, state: () => RedisState): void {
  new Gauge({
    name: 'cache_redis_state',
    help: 'State of the Redis cache tier: 1 for the current state (up, down, flushing), 0 for the others',
    labelNames: ['state'] as const,
    registers: [metrics.registry],
    collect() {
      const current = state();
      for (const each of REDIS_STATES) this.set({ state: each }, each === current ? 1 : 0);
    },
  });
}

export function cacheMetrics(metrics: Metrics) {
  const lookups = new Counter({
    name: 'cache_lookups_total',
    help: 'Cache lookups by tier (local, redis) and result (hit, miss)',
    labelNames: ['tier', 'result'] as const,
    registers: [metrics.registry],
  });
  // Every series the dashboard divides by exists from the start, at 0, so shares read 0, not "No data".
  for (const tier of ['local', 'redis']) for (const result of ['hit', 'miss']) lookups.inc({ tier, result }, 0);
  const databaseReads = new Counter({
    name: 'cache_database_reads_total',
    help: 'User reads answered from PostgreSQL: no cache had the name, or the caches were bypassed',
    registers: [metrics.registry],
  });
  const errors = new Counter({
    name: 'cache_errors_total',
    help: 'Redis commands that failed or timed out; the request was answered from PostgreSQL',
    registers: [metrics.registry],
  });
  const invalidations = new Counter({
    name: 'cache_invalidations_total',
    help: 'Names evicted on a PostgreSQL NOTIFY',
    registers: [metrics.registry],
  });
  return { lookups, databaseReads, errors, invalidations };
}

export type CacheMetrics = ReturnType<typeof cacheMetrics>;

/** data-service's LISTEN connection, 1 while established: without it caches are bypassed. */
export function listenerMetric(metrics: Metrics, listening: () => boolean): void {
  new Gauge({
    name: 'cache_invalidation_listener_up',
    help: '1 while the LISTEN connection that hears user changes is established, else 0',
    registers: [metrics.registry],
    collect() {
      this.set(listening() ? 1 : 0);
    },
  });
}

/** user-service's evictions after a write that did not reach Redis (disconnected or failed). */
export function evictionMetrics(metrics: Metrics) {
  const failed = new Counter({
    name: 'cache_evictions_failed_total',
    help: 'Evictions after a write that could not reach Redis; data-service evicts on NOTIFY, else the TTL ends the entry',
    registers: [metrics.registry],
  });
  return { failed };
}

export type EvictionMetrics = ReturnType<typeof evictionMetrics>;

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per service instance, so tests can build many apps in one process. */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });

  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });

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

export function cacheMetrics(metrics: Metrics) {
  const lookups = new Counter({
    name: 'cache_lookups_total',
    help: 'Cache lookups by tier (local, redis) and result (hit, miss)',
    labelNames: ['tier', 'result'] as const,
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
  return { lookups, errors, invalidations };
}

export type CacheMetrics = ReturnType<typeof cacheMetrics>;

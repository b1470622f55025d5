import { createAuth, warnIfAuthDisabled } from '../../shared/src/auth/index.ts';
import { createSql, createRedis } from '../../shared/src/storage/index.ts';
import {
  postgresReadiness,
  type Lifecycle,
  type ReadinessReport,
  startServer,
  type RunningServer,
} from '../../shared/src/lifecycle/index.ts';
import {
  createLogger,
  type Logger,
  cacheMetrics,
  createMetrics,
  listenerMetric,
  redisStateMetric,
  startTracing,
} from '../../shared/src/observability/index.ts';
import { USERS_CHANNEL } from '../../shared/src/api/index.ts';
import { createDataApp, SERVICE } from './app.ts';
import type { DataConfig } from './config.ts';
import { listenForChanges } from './invalidation.ts';
import { createLocalCache } from './local-cache.ts';
import { createReadLane } from './read-lane.ts';
import { createReadLease } from './read-lease.ts';
import { createRedisCache } from './redis-cache.ts';
import { createUserLookup, tracedLookup } from './user-lookup.ts';
import { createUserQueries } from './user-queries.ts';

export interface DataService extends RunningServer {
  logger: Logger;
}

/** Wires data-service from a validated config; main.ts and the tests both start it this way. */
export async function startDataService(config: DataConfig, logger = createLogger(SERVICE, config.LOG_LEVEL)): Promise<DataService> {
  const tracing = await startTracing(SERVICE, config, logger);
  const metrics = createMetrics(SERVICE);
  const sql = createSql(config, SERVICE);
  metrics.dbPoolMax.set(config.PG_POOL_MAX);
  const lifecycle: Lifecycle = { shuttingDown: false };

  const redis = createRedis(config, SERVICE);
  tracing?.instrumentRedis(redis);

  const queries = createUserQueries(sql, metrics, config.PG_QUERY_TIMEOUT_MS, tracing);
  const cacheCounters = cacheMetrics(metrics);
  const redisCache = createRedisCache({
    redis,
    keyPrefix: config.REDIS_KEY_PREFIX,
    ttlSeconds: config.CACHE_TTL_SECONDS,
    negativeTtlSeconds: config.CACHE_NEGATIVE_TTL_SECONDS,
    logger,
    metrics: cacheCounters,
  });
  const local = createLocalCache({
    ttlMs: config.LOCAL_CACHE_TTL_MS,
    maxEntries: config.LOCAL_CACHE_MAX_ENTRIES,
    maxBytes: config.LOCAL_CACHE_MAX_BYTES,
  });

  const listener = listenForChanges((overrides) => createSql(config, `${SERVICE}-listener`, overrides), USERS_CHANNEL, logger);
  // Blocking reads of the write log wait longer than any other command may.
  const logReader = createRedis({ ...config, REDIS_COMMAND_TIMEOUT_MS: config.REDIS_COMMAND_TIMEOUT_MS + 1_000 }, `${SERVICE}-log`);
  const lease = createReadLease({
    redis,
    logReader,
    keyPrefix: config.REDIS_KEY_PREFIX,
    leaseMs: config.CACHE_LEASE_MS,
    logger,
    onWritten: (name) => untracedLookup.forgetLocally(name),
    onForgetAll: () => untracedLookup.forgetAllLocally(),
  });
  const untracedLookup = createUserLookup({
    queries,
    redis: redisCache,
    local,
    coherent: () => listener.listening,
    localTrusted: lease.trusted,
    metrics: cacheCounters,
  });
  const lookup = tracing ? tracedLookup(untracedLookup, tracing) : untracedLookup;
  listener.start({
    onChange: (name) => lookup.invalidate(name),
    onLost: () => lookup.forgetAll(),
    onResumed: () => lookup.forgetAll(),
  });
  listenerMetric(metrics, () => listener.listening);
  redisStateMetric(metrics, () => redisCache.state());

  const usersTableExists = async (): Promise<boolean> => {
    const [row] = await sql<{ present: boolean }[]>`
      select to_regclass('users') is not null
        and exists (select 1 from pg_trigger where tgname = 'users_notify_change') as present`;
    return row?.present ?? false;
  };
  const postgresReady = postgresReadiness(sql, usersTableExists);
  const readiness = async (): Promise<ReadinessReport> => {
    const { ready, checks } = await postgresReady();
    return {
      // Serving needs PostgreSQL and the LISTEN connection; Redis is reported, never required:
      // without it requests are answered from PostgreSQL.
      ready: ready && listener.listening,
      checks: { ...checks, listener: listener.listening ? 'up' : 'down', redis: redisCache.state() },
    };
  };

  warnIfAuthDisabled(config, logger);
  const readsNeedToken = config.AUTH === 'enabled' && config.AUTH_READS === 'token';
  // Only a service that checks reads verifies tokens (and fetches an identity provider's keys).
  const auth = readsNeedToken ? createAuth({ config, logger, realm: SERVICE }) : undefined;
  const app = createDataApp({ lookup, queries, logger, metrics, lifecycle, readiness, tracing, auth, metricsOnApiPort: config.METRICS_PORT === undefined });
  const server = await startServer({
    fetch: app.fetch,
    metrics,
    tracing,
    // The lane answers public reads only: with AUTH_READS=token every read goes through the app's
    // authentication, so one code path decides who may read.
    ...(!readsNeedToken && { readLane: createReadLane({ lookup, logger, metrics, tracing }) }),
    config,
    logger,
    lifecycle,
    close: async () => {
      await lease.close();
      // Fills still under way are sent before the connection closes.
      await untracedLookup.fillsSettled();
      await listener.close();
      await Promise.all([sql.end({ timeout: 5 }), redis.quit().catch(() => redis.disconnect())]);
      await tracing?.shutdown();
    },
  });
  // Once listening (a start that fails ends before any lease): ready with the in-process tier
  // usable, unless Redis cannot give a lease within a second.
  if (local) await lease.start(1_000);
  return { ...server, logger };
}


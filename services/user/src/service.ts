import { createAuth, warnIfAuthDisabled } from '../../shared/src/auth/index.ts';
import { createSql, createRedis, retryUntilDone } from '../../shared/src/storage/index.ts';
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
  createMetrics,
  evictionMetrics,
  redisStateMetric,
  startTracing,
} from '../../shared/src/observability/index.ts';
import { createUserApp, SERVICE } from './app.ts';
import { createCacheEvictor, evictingWrites } from './cache-eviction.ts';
import { userCacheKeys } from '../../shared/src/cache/index.ts';
import { createReplicaAcks } from './replica-acks.ts';
import type { UserConfig } from './config.ts';
import { migrate, schemaIsCurrent, seedDemoUsers } from './migrate.ts';
import { createUserStore } from './users.ts';

export interface UserService extends RunningServer {
  logger: Logger;
  /** Settles once start-up migrations are done (or were not asked for). */
  migrated: Promise<void>;
}

/** Wires user-service from a validated config; main.ts and the tests both start it this way. */
export async function startUserService(config: UserConfig, logger = createLogger(SERVICE, config.LOG_LEVEL)): Promise<UserService> {
  const tracing = await startTracing(SERVICE, config, logger);
  const metrics = createMetrics(SERVICE);
  const sql = createSql(config, SERVICE);
  metrics.dbPoolMax.set(config.PG_POOL_MAX);
  const lifecycle: Lifecycle = { shuttingDown: false };
  const stopping = new AbortController();
  const redis = createRedis(config, SERVICE);
  tracing?.instrumentRedis(redis);
  // Acknowledgements arrive on a subscribed connection, which can send nothing else.
  const subscriber = config.WRITES_AWAIT_REPLICAS ? createRedis(config, `${SERVICE}-acks`) : undefined;
  const acks = subscriber && createReplicaAcks(subscriber, userCacheKeys(config.REDIS_KEY_PREFIX).acks, logger);
  const evictor = createCacheEvictor({
    redis,
    keyPrefix: config.REDIS_KEY_PREFIX,
    acks,
    leaseMs: config.CACHE_LEASE_MS,
    logger,
    metrics: evictionMetrics(metrics),
  });
  redisStateMetric(metrics, () => evictor.state());

  const postgresReady = postgresReadiness(sql, () => schemaIsCurrent(sql));
  const readiness = async (): Promise<ReadinessReport> => {
    const { ready, checks } = await postgresReady();
    // Redis is reported, never required: writes go on without it.
    return { ready, checks: { ...checks, redis: evictor.state() } };
  };

  warnIfAuthDisabled(config, logger);
  const auth = createAuth({ config, logger, realm: SERVICE });
  const app = createUserApp({
    users: evictingWrites(createUserStore(sql, metrics, config.PG_QUERY_TIMEOUT_MS, tracing), evictor),
    logger,
    metrics,
    lifecycle,
    readiness,
    tracing,
    auth,
    metricsOnApiPort: config.METRICS_PORT === undefined,
  });
  const server = await startServer({
    fetch: app.fetch,
    metrics,
    tracing,
    config,
    logger,
    lifecycle,
    close: closeClients,
  });

  // Serve (liveness) first and migrate in the background: a pod that starts before PostgreSQL
  // waits, unready, instead of crash-looping.
  const migrated = (async () => {
    if (!config.MIGRATE_ON_START) return;
    const done = await retryUntilDone(() => migrate(sql, logger), {
      signal: stopping.signal,
      onError: (error, delayMs) => logger.warn({ err: error, retryInMs: delayMs }, 'migration failed; retrying'),
    });
    if (done === undefined || !config.SEED_DEMO_USERS) return;
    const added = await seedDemoUsers(sql).catch((error: unknown) => logger.error({ err: error }, 'seeding demo users failed'));
    if (typeof added === 'number') logger.info({ added }, 'demo users seeded');
  })();

  /** Once no request is left: stop the migration, wait for it, then close the clients. */
  async function closeClients(): Promise<void> {
    stopping.abort();
    await migrated;
    subscriber?.disconnect();
    await Promise.all([sql.end({ timeout: 5 }), redis.quit().catch(() => redis.disconnect())]);
    await tracing?.shutdown();
  }

  return { ...server, logger, migrated };
}

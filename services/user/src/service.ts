import { createAuth, warnIfAuthDisabled } from '../../shared/src/auth/index.ts';
import { createSql, createRedis, retryUntilDone, type Sql } from '../../shared/src/storage/index.ts';
import type { CacheRedis } from '../../shared/src/cache/index.ts';
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
import { relayMetrics } from './events/metrics.ts';
import { startEventRelay, type EventRelay } from './events/relay.ts';
import { createUserStore } from './users.ts';

export interface UserService extends RunningServer {
  logger: Logger;
  /** Settles once start-up migrations are done (or were not asked for). */
  migrated: Promise<void>;
  /** The event relay, once started (EVENTS_ENABLED and the schema there). */
  events: () => EventRelay | undefined;
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
    users: evictingWrites(
      createUserStore(sql, metrics, { queryTimeoutMs: config.PG_QUERY_TIMEOUT_MS, tracing, events: config.EVENTS_ENABLED }),
      evictor,
    ),
    logger,
    metrics,
    lifecycle,
    readiness,
    tracing,
    auth,
    metricsOnApiPort: config.METRICS_PORT === undefined,
    events: config.EVENTS_ENABLED ? { stream: config.EVENTS_STREAM, maxLength: config.EVENTS_STREAM_MAX_LENGTH } : undefined,
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

  // The relay starts once the outbox table exists; until then there is nothing to publish.
  let relay: EventRelay | undefined;
  let relayRedis: CacheRedis | undefined;
  const relayStarted = migrated.then(async () => {
    if (!config.EVENTS_ENABLED || stopping.signal.aborted) return;
    if (!config.MIGRATE_ON_START) await waitForSchema(sql, stopping.signal, logger);
    if (stopping.signal.aborted) return;
    // Its own connection and a longer command timeout than the cache's: a batch is one MULTI of many XADDs.
    relayRedis = createRedis({ ...config, REDIS_COMMAND_TIMEOUT_MS: Math.max(config.REDIS_COMMAND_TIMEOUT_MS, RELAY_REDIS_TIMEOUT_MS) }, `${SERVICE}-events`);
    relay = startEventRelay({
      connect: (overrides) => createSql(config, `${SERVICE}-events`, overrides),
      redis: relayRedis,
      stream: config.EVENTS_STREAM,
      maxLength: config.EVENTS_STREAM_MAX_LENGTH,
      retentionSeconds: config.EVENTS_RETENTION,
      logger,
      metrics: relayMetrics(metrics),
      queryTimeoutMs: config.PG_QUERY_TIMEOUT_MS,
    });
  });

  /** Once no request is left: stop the migration and the relay, wait for them, then close the clients. */
  async function closeClients(): Promise<void> {
    stopping.abort();
    await migrated;
    subscriber?.disconnect();
    await relayStarted;
    await relay?.close();
    await Promise.all([
      sql.end({ timeout: 5 }),
      redis.quit().catch(() => redis.disconnect()),
      relayRedis?.quit().catch(() => relayRedis?.disconnect()),
    ]);
    await tracing?.shutdown();
  }

  return { ...server, logger, migrated, events: () => relay };
}

const RELAY_REDIS_TIMEOUT_MS = 2_000;

/** With migrations left to the chart's init container, the relay waits until the schema is there. */
async function waitForSchema(sql: Sql, signal: AbortSignal, logger: Logger): Promise<void> {
  await retryUntilDone(
    async () => {
      if (!(await schemaIsCurrent(sql))) throw new Error('the schema is not migrated yet');
    },
    { signal, onError: (error, delayMs) => logger.debug({ err: error, retryInMs: delayMs }, 'event relay waits for the schema') },
  );
}

import type { Redis } from 'ioredis';
import type { PgOptions, Sql } from '../../../shared/src/storage/index.ts';
import type { Logger } from '../../../shared/src/observability/index.ts';
import { withTimeout } from '../../../shared/src/storage/index.ts';
import { streamFields, USER_EVENTS_CHANNEL, type UserEvent } from '../../../shared/src/events/index.ts';
import type { RelayMetrics } from './metrics.ts';
import {
  advanceTo,
  oldestUnpublishedAge,
  prunePublished,
  publishedPosition,
  readAfter,
  tryTakeLeadership,
} from './outbox.ts';

export interface RelayOptions {
  /** Opens the relay's own PostgreSQL connection (max 1): it holds the lock and hears NOTIFY. */
  connect: (overrides: PgOptions) => Sql;
  /** A Redis connection of the relay's own. */
  redis: Redis;
  stream: string;
  /** XADD MAXLEN ~: Redis trims whole nodes, so the stream holds at least this many entries. */
  maxLength: number;
  retentionSeconds: number;
  logger: Logger;
  metrics: RelayMetrics;
  batchSize?: number;
  /** The fallback when a NOTIFY is missed (its connection was down, say): look this often anyway. */
  pollMs?: number;
  /** How often a replica that is not the leader asks for the lock: the takeover time after a leader dies. */
  standbyMs?: number;
  pruneEveryMs?: number;
  /**
   * A leader that cannot reach Redis this long lets the lock go (and sits out a few standby rounds),
   * so a replica that can reach it publishes instead; with Redis down for all, the lock just moves.
   */
  stepDownAfterMs?: number;
  /** Bound on each query; a connection that does not answer in time is given up (and the lock with it). */
  queryTimeoutMs?: number;
}

export interface EventRelay {
  /** True while this replica holds the lock and publishes. */
  readonly leading: boolean;
  /** Stops publishing and ends the connection, which lets the lock go to another replica. */
  close(): Promise<void>;
}

class RedisPublishError extends Error {
  override name = 'RedisPublishError';
}

// PostgreSQL notices a dead client at once when its process dies, but a vanished host only by
// TCP keepalives: with these, after about 5 + 3 × 2 s, and the lock is free for another replica.
const KEEPALIVES = { tcp_keepalives_idle: 5, tcp_keepalives_interval: 2, tcp_keepalives_count: 3 };

/**
 * Publishes committed outbox rows to the Redis Stream in id order, at least once. Exactly one
 * replica publishes at a time: the one whose connection holds the leader lock. It reads on from
 * the published position stored beside the outbox, XADDs a batch in one MULTI, then moves the
 * position; a crash between the two repeats that batch, which is the only way a duplicate arises.
 * While Redis is away nothing moves: events wait in the outbox, in order, and go out once it is back.
 */
export function startEventRelay(options: RelayOptions): EventRelay {
  const {
    connect,
    redis,
    stream,
    maxLength,
    retentionSeconds,
    logger,
    metrics,
    batchSize = 500,
    pollMs = 2_000,
    standbyMs = 1_000,
    pruneEveryMs = 60_000,
    stepDownAfterMs = 10_000,
    queryTimeoutMs = 5_000,
  } = options;

  let closed = false;
  let leading = false;
  let connection: Sql | undefined;
  let position = 0n;
  let notified = false;
  let wake: (() => void) | undefined;
  let nextPruneAt = 0;
  let redisFailing = false;
  let redisFailingSince = 0;
  let sitOutUntil = 0;

  const query = <T>(promise: Promise<T>): Promise<T> => withTimeout(promise, queryTimeoutMs);

  function open(): Sql {
    const sql: Sql = connect({
      max: 1,
      idle_timeout: 0,
      max_lifetime: 0,
      connection: KEEPALIVES,
      onclose: () => {
        if (sql === connection) lose('connection closed');
      },
      // Not in postgres.js's types, but the documented hook its own sql.listen is built on.
      ...{
        onnotify: (channel: string) => {
          if (channel !== USER_EVENTS_CHANNEL) return;
          notified = true;
          wake?.();
        },
      },
    });
    return sql;
  }

  /** Ends the connection, and with it the lock if this replica held it. */
  function abandon(): void {
    const stale = connection;
    connection = undefined;
    stale?.end({ timeout: 0 }).catch(() => {});
  }

  function lose(reason: string): void {
    if (!leading) return;
    leading = false;
    metrics.leader.set(0);
    logger.warn({ reason }, 'event relay leadership lost');
    abandon();
  }

  /** Waits `ms`, or less when close comes first, and with `untilNotified` when a NOTIFY does. */
  async function pause(ms: number, untilNotified = false): Promise<void> {
    if ((untilNotified && notified) || closed) return;
    await new Promise<void>((resolve) => {
      wake = () => {
        if (closed || untilNotified) resolve();
      };
      setTimeout(resolve, ms).unref();
    });
    wake = undefined;
  }

  async function lead(sql: Sql): Promise<boolean> {
    if (!(await query(tryTakeLeadership(sql)))) return false;
    await query(sql.unsafe(`listen "${USER_EVENTS_CHANNEL}"`));
    position = await query(publishedPosition(sql));
    leading = true;
    metrics.leader.set(1);
    nextPruneAt = 0;
    logger.info({ publishedId: position.toString(), stream }, 'event relay leadership taken; publishing');
    return true;
  }

  async function publish(events: UserEvent[]): Promise<void> {
    const transaction = redis.multi();
    for (const event of events) transaction.xadd(stream, 'MAXLEN', '~', maxLength, '*', ...streamFields(event));
    try {
      const results = await transaction.exec();
      if (!results) throw new Error('the transaction was discarded');
      const failed = results.find(([error]) => error);
      if (failed) throw failed[0];
    } catch (error) {
      throw new RedisPublishError('XADD failed', { cause: error });
    }
  }

  /** Publishes one batch; returns how many events it held. */
  async function relayBatch(sql: Sql): Promise<number> {
    notified = false;
    const batch = await query(readAfter(sql, position, batchSize));
    metrics.observeOldest(batch.oldestAgeSeconds);
    if (batch.events.length === 0) return 0;
    await publish(batch.events);
    const last = BigInt(batch.events.at(-1)!.id);
    await query(advanceTo(sql, last));
    position = last;
    metrics.published.inc(batch.events.length);
    if (batch.events.length < batchSize) metrics.observeOldest(undefined);
    if (redisFailing) logger.info('redis is back; publishing the events that waited in the outbox');
    redisFailing = false;
    return batch.events.length;
  }

  async function pruneWhenDue(sql: Sql): Promise<void> {
    if (Date.now() < nextPruneAt) return;
    nextPruneAt = Date.now() + pruneEveryMs;
    const removed = await withTimeout(prunePublished(sql, retentionSeconds), queryTimeoutMs * 6);
    if (removed) logger.info({ removed, retentionSeconds }, 'published events pruned from the outbox');
  }

  const run = async () => {
    let retryMs = 100;
    while (!closed) {
      try {
        connection ??= open();
        const sql = connection;
        if (!leading && (Date.now() < sitOutUntil || !(await lead(sql)))) {
          // Standing by: still report the lag, so a stuck leader shows on every replica's metrics.
          metrics.observeOldest(await query(oldestUnpublishedAge(sql)));
          retryMs = 100;
          await pause(standbyMs);
          continue;
        }
        const count = await relayBatch(sql);
        retryMs = 100;
        if (count === batchSize) continue;
        await pruneWhenDue(sql);
        await pause(pollMs, true);
      } catch (error) {
        if (closed) break;
        if (error instanceof RedisPublishError) {
          metrics.failures.inc();
          if (!redisFailing) {
            logger.warn({ err: error.cause }, 'redis unavailable; events wait in the outbox');
            redisFailingSince = Date.now();
          }
          redisFailing = true;
          if (Date.now() - redisFailingSince >= stepDownAfterMs) {
            lose('redis unreachable from this replica; another one may publish');
            redisFailing = false;
            sitOutUntil = Date.now() + 3 * standbyMs;
          }
        } else {
          logger.warn({ err: error, retryInMs: retryMs }, 'event relay: PostgreSQL failed; retrying');
          if (leading) lose(error instanceof Error ? error.message : String(error));
          else abandon();
        }
        await pause(retryMs);
        retryMs = Math.min(retryMs * 2, 2_000);
      }
    }
  };

  const loop = run();

  return {
    get leading() {
      return leading;
    },
    async close() {
      closed = true;
      wake?.();
      await loop;
      leading = false;
      metrics.leader.set(0);
      const last = connection;
      connection = undefined;
      await last?.end({ timeout: 1 }).catch(() => {});
    },
  };
}

import { setTimeout as sleep } from 'node:timers/promises';
import { type PgOptions, type Sql, withTimeout } from '../../shared/src/storage/index.ts';
import type { Logger } from '../../shared/src/observability/index.ts';

export interface InvalidationHandlers {
  /** A user row changed: the payload is its name. */
  onChange: (name: string) => void;
  /** The LISTEN connection is gone: changes may now go unnoticed. */
  onLost: () => void;
  /** Listening again after a loss: changes made in between were missed. */
  onResumed: () => void;
}

export interface InvalidationListener {
  /** True while a LISTEN is established; caches must not be served otherwise. */
  readonly listening: boolean;
  /** Starts listening; every change, loss and resumption goes to `handlers`. Call once. */
  start(handlers: InvalidationHandlers): void;
  close(): Promise<void>;
}

const HEARTBEAT_MS = 5_000;
const ANSWER_TIMEOUT_MS = 2_000;
const MAX_RETRY_MS = 5_000;

/**
 * Holds one dedicated PostgreSQL connection in LISTEN, reconnecting with back-off, from `start`
 * on: the caches that ask `listening` can be built before the handlers that evict from them.
 * (postgres.js's own sql.listen retries only once, so a longer outage would silently end it.)
 */
export function listenForChanges(
  connect: (overrides: PgOptions) => Sql,
  channel: string,
  logger: Logger,
  { heartbeatMs = HEARTBEAT_MS, timeoutMs = ANSWER_TIMEOUT_MS } = {},
): InvalidationListener {
  let listening = false;
  let everListened = false;
  let closed = false;
  let wake: (() => void) | undefined;
  let connection: Sql | undefined;
  let handlers: InvalidationHandlers | undefined;
  let loop: Promise<void> | undefined;

  function open(): Sql {
    const sql: Sql = connect({
      max: 1,
      idle_timeout: 0,
      max_lifetime: 0,
      // A connection given up on may still report its close later; only the current one counts.
      onclose: () => {
        if (sql === connection) lost('connection closed');
      },
      // Not in postgres.js's types, but the documented hook its own sql.listen is built on.
      ...{
        onnotify: (notifiedChannel: string, payload: string) => {
          if (notifiedChannel === channel) handlers!.onChange(payload);
        },
      },
    });
    return sql;
  }

  /** Drops a connection that stopped answering; the next attempt opens a new one. */
  function abandon() {
    const stale = connection;
    connection = undefined;
    stale?.end({ timeout: 0 }).catch(() => {});
  }

  function lost(reason: string) {
    if (!listening) return;
    listening = false;
    logger.warn({ reason }, 'LISTEN connection lost; serving from PostgreSQL only until it is back');
    handlers!.onLost();
    wake?.();
  }

  const run = async () => {
    for (let delay = 100; !closed; ) {
      if (!listening) {
        try {
          connection ??= open();
          await withTimeout(connection.unsafe(`listen "${channel.replace(/"/g, '""')}"`), timeoutMs);
          listening = true;
          delay = 100;
          if (everListened) {
            logger.info('LISTEN connection restored');
            handlers!.onResumed();
          }
          everListened = true;
        } catch (error) {
          if (closed) break;
          abandon();
          logger.warn({ err: error, retryInMs: delay }, 'LISTEN failed; retrying');
          await sleep(delay);
          delay = Math.min(delay * 2, MAX_RETRY_MS);
          continue;
        }
      }
      // A heartbeat notices a connection that died without TCP telling us (a silent network).
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, heartbeatMs).unref();
      });
      wake = undefined;
      if (!listening || closed) continue;
      try {
        await withTimeout(connection!`select 1`, timeoutMs);
      } catch {
        lost('heartbeat unanswered');
        abandon();
      }
    }
  };

  return {
    get listening() {
      return listening;
    },
    start(given) {
      if (loop) throw new Error('the listener has already started');
      handlers = given;
      loop = run();
    },
    async close() {
      closed = true;
      listening = false;
      wake?.();
      const last = connection;
      connection = undefined;
      await last?.end({ timeout: 1 });
      await loop;
    },
  };
}

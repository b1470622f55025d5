import { setTimeout as sleep } from 'node:timers/promises';
import type { PgOptions, Sql } from '../../shared/src/db.ts';
import type { Logger } from '../../shared/src/logger.ts';

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
  close(): Promise<void>;
}

const HEARTBEAT_MS = 5_000;
const MAX_RETRY_MS = 5_000;

/**
 * Holds one dedicated PostgreSQL connection in LISTEN, reconnecting with back-off.
 * (postgres.js's own sql.listen retries only once, so a longer outage would silently end it.)
 */
export function listenForChanges(
  connect: (overrides: PgOptions) => Sql,
  channel: string,
  handlers: InvalidationHandlers,
  logger: Logger,
): InvalidationListener {
  let listening = false;
  let everListened = false;
  let closed = false;
  let wake: (() => void) | undefined;

  const sql = connect({
    max: 1,
    idle_timeout: 0,
    max_lifetime: 0,
    onclose: () => lost(),
    // Not in postgres.js's types, but the documented hook its own sql.listen is built on.
    ...{
      onnotify: (notifiedChannel: string, payload: string) => {
        if (notifiedChannel === channel) handlers.onChange(payload);
      },
    },
  });

  function lost() {
    if (!listening) return;
    listening = false;
    logger.warn('LISTEN connection lost; serving from PostgreSQL only until it is back');
    handlers.onLost();
    wake?.();
  }

  const loop = (async () => {
    for (let delay = 100; !closed; ) {
      if (!listening) {
        try {
          await sql.unsafe(`listen "${channel.replace(/"/g, '""')}"`);
          listening = true;
          delay = 100;
          if (everListened) {
            logger.info('LISTEN connection restored');
            handlers.onResumed();
          }
          everListened = true;
        } catch (error) {
          if (closed) break;
          logger.warn({ err: { message: (error as Error).message }, retryInMs: delay }, 'LISTEN failed; retrying');
          await sleep(delay);
          delay = Math.min(delay * 2, MAX_RETRY_MS);
          continue;
        }
      }
      // A heartbeat notices a dead connection that TCP has not reported yet.
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, HEARTBEAT_MS).unref();
      });
      wake = undefined;
      if (listening && !closed) await sql`select 1`.catch(() => lost());
    }
  })();

  return {
    get listening() {
      return listening;
    },
    async close() {
      closed = true;
      listening = false;
      wake?.();
      await sql.end({ timeout: 1 });
      await loop;
    },
  };
}

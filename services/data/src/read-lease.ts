import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import {
  acknowledge,
  comparePositions,
  LEASE_CLOCK_MARGIN,
  readLog,
  releaseLease,
  renewLease,
  userCacheKeys,
  type CacheRedis,
  type LogPosition,
} from '../../shared/src/cache/index.ts';
import type { Logger } from '../../shared/src/observability/index.ts';

export interface ReadLeaseOptions {
  /** Renews the lease and publishes acknowledgements (the service's usual client). */
  redis: CacheRedis;
  /** A connection of its own for the blocking log reads. */
  logReader: Redis;
  keyPrefix: string;
  leaseMs: number;
  logger: Logger;
  /** The log says this name was written: drop it from the in-process tier. */
  onWritten: (name: string) => void;
  /** Entries may have been missed (a fresh lease, a gap in the log): drop the whole tier. */
  onForgetAll: () => void;
  /** Tests pause the log reader; everything else leaves it. */
  logBlockMs?: number;
}

const LOG_BATCH = 1_000;
const LOG_BLOCK_MS = 1_000;

/**
 * This replica's side of read-your-writes (the argument is in shared/src/cache/cache-protocol.ts): it
 * holds a lease in Redis, applies the log of written names to its in-process tier, acknowledges
 * how far it got, and says whether that tier may be trusted right now.
 */
export function createReadLease({ redis, logReader, keyPrefix, leaseMs, logger, onWritten, onForgetAll, logBlockMs = LOG_BLOCK_MS }: ReadLeaseOptions) {
  const keys = userCacheKeys(keyPrefix);
  const replica = randomBytes(8).toString('hex');
  const renewEveryMs = Math.max(10, Math.floor(leaseMs / 4));

  let leaseUntil = 0;
  /** How far the log has been applied; undefined until the first lease says where to start. */
  let position: LogPosition | undefined;
  /** The log's last entry when the latest renewal ran: trust needs at least that much applied. */
  let mustReach: LogPosition = '';
  let closed = false;
  let holding = false;
  let wakeReader: (() => void) | undefined;
  let renewing: Promise<void> | undefined;
  let reading: Promise<void> | undefined;
  let renewTimer: NodeJS.Timeout | undefined;
  let firstLease: (() => void) | undefined;

  function trusted(): boolean {
    return !closed && position !== undefined && performance.now() < leaseUntil && comparePositions(position, mustReach) >= 0;
  }

  function publishPosition() {
    if (position === undefined) return;
    acknowledge(redis, keys, replica, position).catch(() => {});
  }

  async function renew(): Promise<void> {
    const sentAt = performance.now();
    try {
      const { continued, last } = await renewLease(redis, keys, replica, leaseMs);
      if (closed) return;
      if (!continued || position === undefined) {
        // Writes since the lease ran out did not wait for this replica: nothing it holds is trusted.
        if (holding) logger.warn('read lease had run out; emptying the in-process tier');
        onForgetAll();
        position = last;
      }
      mustReach = last;
      leaseUntil = sentAt + leaseMs * (1 - LEASE_CLOCK_MARGIN);
      if (!holding) logger.info({ replica }, 'read lease held; answering from the in-process tier');
      holding = true;
      firstLease?.();
      wakeReader?.();
      publishPosition();
    } catch (error) {
      if (holding && performance.now() >= leaseUntil) {
        holding = false;
        logger.warn({ err: error }, 'read lease not renewed; reading Redis and PostgreSQL until it is');
      }
    }
  }

  /** Renews now, then every quarter lease; a renewal asked for while one runs is not repeated. */
  function renewNow() {
    if (renewing || closed) return;
    clearTimeout(renewTimer);
    renewing = renew().finally(() => {
      renewing = undefined;
      if (!closed) renewTimer = setTimeout(renewNow, renewEveryMs);
    });
  }

  async function readLoop(): Promise<void> {
    let delayMs = 50;
    while (!closed) {
      if (position === undefined) {
        await new Promise<void>((resolve) => {
          wakeReader = resolve;
        });
        wakeReader = undefined;
        continue;
      }
      const from = position;
      try {
        const entries = await readLog(logReader, keys, from, LOG_BATCH, logBlockMs);
        delayMs = 50;
        if (closed || entries.length === 0) continue;
        apply(from, entries);
        publishPosition();
      } catch (error) {
        if (closed) break;
        logger.debug({ err: error }, 'reading the write log failed; retrying');
        await sleep(delayMs);
        delayMs = Math.min(delayMs * 2, 1_000);
      }
    }
  }

  function apply(from: LogPosition, entries: { id: LogPosition; name: string; prev: LogPosition }[]) {
    // A fresh lease moved the position while this read was under way: the tier was emptied, and
    // the next read starts from the new position.
    if (position !== from) {
      for (const entry of entries) onWritten(entry.name);
      return;
    }
    for (const entry of entries) {
      if (entry.prev !== position) {
        // Entries between were trimmed or lost: anything cached may have missed one of them.
        logger.warn({ expected: position, found: entry.prev }, 'the write log has a gap; emptying the in-process tier');
        onForgetAll();
      }
      onWritten(entry.name);
      position = entry.id;
    }
  }

  return {
    replica,
    /** True while the in-process tier may answer: lease live, log applied far enough, not closing. */
    trusted,
    /**
     * Starts renewing and reading the log. Resolves once the first lease is held, or after
     * `waitMs` without one (Redis down): the service then starts with the tier off until it is.
     */
    start(waitMs: number): Promise<void> {
      const held = new Promise<void>((resolve) => {
        firstLease = resolve;
        setTimeout(resolve, waitMs).unref();
      });
      // A connection (re)established is the earliest moment a renewal can succeed.
      redis.on('ready', renewNow);
      renewNow();
      reading = readLoop();
      return held;
    },
    state(): 'held' | 'none' {
      return trusted() ? 'held' : 'none';
    },
    /** Stops trusting the tier, then gives the lease back so writes stop waiting for this replica. */
    async close(): Promise<void> {
      closed = true;
      clearTimeout(renewTimer);
      wakeReader?.();
      await renewing;
      await releaseLease(redis, keys, replica).catch(() => {});
      logReader.disconnect();
      await reading;
    },
  };
}

export type ReadLease = ReturnType<typeof createReadLease>;

import type { Redis } from 'ioredis';
import { comparePositions, RELEASED, type LiveLease, type LogPosition } from '../../shared/src/cache/index.ts';
import type { Logger } from '../../shared/src/observability/index.ts';

interface Waiter {
  entry: LogPosition;
  pending: Set<string>;
  done: () => void;
}

// Prune what replicas said once this many more are remembered than are live (restarts leave ids).
const REMEMBERED_SLACK = 64;

/**
 * What data-service replicas acknowledged (cache-protocol.ts, "Read-your-writes"), heard on a
 * subscriber connection of its own, and the writer's wait: until every listed replica has applied
 * the entry, released its lease, or run out of it.
 */
export function createReplicaAcks(subscriber: Redis, channel: string, logger: Logger) {
  /** The furthest position each replica reported; RELEASED once it gave its lease back. */
  const reported = new Map<string, LogPosition>();
  const waiters = new Set<Waiter>();

  const covers = (replica: string, entry: LogPosition) => {
    const position = reported.get(replica);
    return position !== undefined && (position === RELEASED || comparePositions(position, entry) >= 0);
  };

  subscriber.on('message', (heardOn: string, message: string) => {
    if (heardOn !== channel) return;
    const space = message.indexOf(' ');
    if (space < 0) return;
    const replica = message.slice(0, space);
    const position = message.slice(space + 1);
    const previous = reported.get(replica);
    if (previous === RELEASED) return;
    if (position !== RELEASED && previous !== undefined && comparePositions(previous, position) >= 0) return;
    reported.set(replica, position);
    for (const waiter of waiters) {
      if (waiter.pending.has(replica) && covers(replica, waiter.entry)) {
        waiter.pending.delete(replica);
        if (waiter.pending.size === 0) waiter.done();
      }
    }
  });
  // Subscribed again on every (re)connection; acknowledgements sent in between are lost, and
  // the writes that needed them wait out those leases instead.
  subscriber.on('ready', () => {
    subscriber.subscribe(channel).catch((error: unknown) => logger.warn({ err: error }, 'could not subscribe to replica acknowledgements'));
  });

  return {
    /** Resolves once every lease in `leases` is acknowledged for `entry`, released or run out. */
    awaitReplicas(entry: LogPosition, leases: LiveLease[]): Promise<void> {
      if (reported.size > leases.length + REMEMBERED_SLACK) {
        const live = new Set(leases.map((lease) => lease.replica));
        for (const replica of reported.keys()) if (!live.has(replica)) reported.delete(replica);
      }
      const pending = new Set(leases.filter((lease) => !covers(lease.replica, entry)).map((lease) => lease.replica));
      if (pending.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timers: NodeJS.Timeout[] = [];
        const waiter: Waiter = {
          entry,
          pending,
          done: () => {
            waiters.delete(waiter);
            for (const timer of timers) clearTimeout(timer);
            resolve();
          },
        };
        waiters.add(waiter);
        // A replica that does not answer is waited for until its lease has run out: by then it
        // no longer trusts its in-process tier. One ms on top for timer rounding.
        for (const lease of leases) {
          if (!pending.has(lease.replica)) continue;
          timers.push(
            setTimeout(() => {
              if (!pending.delete(lease.replica)) return;
              if (pending.size === 0) waiter.done();
            }, Math.max(0, lease.remainingMs) + 1),
          );
        }
      });
    },
  };
}

export type ReplicaAcks = ReturnType<typeof createReplicaAcks>;

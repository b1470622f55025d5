// A service that reacts to user events, as other teams would write one: it reads the stream in a
// consumer group, so several replicas share the work and each event is handled by one of them,
// acknowledges what it handled, and takes over what a dead replica left pending.
//
//   EVENTS_STREAM=user-events node examples/user-events/consumer.ts --group directory --consumer "$HOSTNAME"
//
// Delivery is at least once: the relay may publish an event twice around a crash, and a claimed
// message may already have been handled by the consumer that died. Every event carries its outbox
// id, and ids increase in commit order, so the handler keeps, per user, the last id it applied and
// drops anything older: applying an event twice, or late, changes nothing.
import { Redis } from 'ioredis';
import { parseArgs } from 'node:util';
import { decodeStreamEntry, MalformedEventError, type UserEvent } from '../../services/shared/src/events/index.ts';

export interface ConsumeOptions {
  redis: Redis;
  stream: string;
  group: string;
  consumer: string;
  /** Handles one event; when it resolves the message is acknowledged (XACK). A throw stops the consumer and leaves the message pending for the next one. */
  handle: (event: UserEvent) => Promise<void> | void;
  /** A malformed entry is acknowledged and reported here, so it cannot block the group. */
  onMalformed?: (streamId: string, error: MalformedEventError) => void;
  signal: AbortSignal;
  /** Messages another consumer has held unacknowledged this long are claimed (XAUTOCLAIM): that consumer is taken for dead. */
  claimIdleMs?: number;
  count?: number;
  blockMs?: number;
}

type Entry = [id: string, fields: string[]];

/** Creates the group at the start of the stream (and the stream, if missing); an existing group is kept. */
export async function ensureGroup(redis: Redis, stream: string, group: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('BUSYGROUP')) throw error;
  }
}

/** Reads, handles and acknowledges until `signal` aborts. */
export async function consumeUserEvents(options: ConsumeOptions): Promise<void> {
  const { redis, stream, group, consumer, signal, claimIdleMs = 30_000, count = 100, blockMs = 1_000 } = options;
  await ensureGroup(redis, stream, group);

  // What this consumer read before a restart and never acknowledged comes first ('0' reads its own pending list).
  let ownPending = true;
  while (!signal.aborted) {
    await claimAbandoned(options, claimIdleMs, count);
    const reply = (await redis.xreadgroup(
      'GROUP', group, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, ownPending ? '0' : '>',
    )) as [string, Entry[]][] | null;
    const entries = reply?.[0]?.[1] ?? [];
    if (ownPending && entries.length === 0) ownPending = false;
    await handleEntries(options, entries);
  }
}

/** Takes over, in pages, the messages a dead consumer read but never acknowledged. */
async function claimAbandoned(options: ConsumeOptions, claimIdleMs: number, count: number): Promise<void> {
  const { redis, stream, group, consumer } = options;
  let cursor = '0-0';
  do {
    const [next, entries] = (await redis.xautoclaim(stream, group, consumer, claimIdleMs, cursor, 'COUNT', count)) as [string, Entry[], string[]];
    // A claimed message whose entry was trimmed away comes back as null fields: nothing to handle, so acknowledge it.
    await handleEntries(options, entries);
    cursor = next;
  } while (cursor !== '0-0' && !options.signal.aborted);
}

async function handleEntries({ redis, stream, group, handle, onMalformed }: ConsumeOptions, entries: Entry[]): Promise<void> {
  for (const [streamId, fields] of entries) {
    if (fields) {
      try {
        await handle(decodeStreamEntry(fields));
      } catch (error) {
        if (!(error instanceof MalformedEventError)) throw error;
        onMalformed?.(streamId, error);
      }
    }
    await redis.xack(stream, group, streamId);
  }
}

/**
 * The example's own state: a directory of users built from the events. Applying is idempotent:
 * an event whose id is not above the last one applied for that user is a duplicate (or arrived
 * after a newer one) and is dropped.
 */
export function createUserDirectory() {
  const users = new Map<string, { lastId: bigint; info: string | undefined }>();
  let dropped = 0;
  return {
    apply(event: UserEvent): boolean {
      const id = BigInt(event.id);
      const known = users.get(event.name);
      if (known && known.lastId >= id) {
        dropped++;
        return false;
      }
      // A deleted user is remembered by its last id, so a late, older register cannot bring it back.
      users.set(event.name, { lastId: id, info: event.type === 'user.deleted' ? undefined : event.payload.info });
      return true;
    },
    /** name → info of every user that exists, as the table would answer. */
    view(): Map<string, string> {
      const view = new Map<string, string>();
      for (const [name, { info }] of users) if (info !== undefined) view.set(name, info);
      return view;
    },
    get dropped() {
      return dropped;
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { group: { type: 'string', default: 'directory' }, consumer: { type: 'string', default: process.env.HOSTNAME ?? 'consumer-1' } } });
  const stream = process.env.EVENTS_STREAM ?? 'user-events';
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const directory = createUserDirectory();
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  await consumeUserEvents({
    redis,
    stream,
    group: values.group!,
    consumer: values.consumer!,
    signal: stop.signal,
    handle: (event) => {
      if (directory.apply(event)) process.stdout.write(`${event.id} ${event.type} ${event.name}\n`);
    },
    onMalformed: (streamId, error) => process.stderr.write(`skipped ${streamId}: ${error.message}\n`),
  });
  redis.disconnect();
}

if (import.meta.main) await main();

// Stale reads, judged by the load generator from what it saw: a read sent after a write to that
// name was acknowledged must not answer with a value older than that write.

/** Every write puts a fresh sequence number first in `info`; seeded users carry none (0). */
export const WRITE_MARK = 'bench-write-';

export function writtenInfo(sequence: number, padding: string): string {
  return `${WRITE_MARK}${sequence} ${padding}`;
}

/** The sequence number an answer's `info` carries, 0 for a seeded value. */
export function sequenceOf(info: string): number {
  if (!info.startsWith(WRITE_MARK)) return 0;
  const end = info.indexOf(' ', WRITE_MARK.length);
  const sequence = Number(info.slice(WRITE_MARK.length, end < 0 ? undefined : end));
  return Number.isInteger(sequence) ? sequence : 0;
}

export interface StaleRead {
  name: string;
  /** The sequence the read returned and the one acknowledged before it was sent. */
  returned: number;
  expected: number;
  /** How long after the acknowledgement the read was sent, in ms. */
  sentAfterAckMs: number;
  /** The answer's X-Cache header: HIT (a cache tier) or MISS (PostgreSQL, or a query in flight). */
  cache: string | undefined;
}

/**
 * Per name, the last acknowledged write (sequence and time). The caller keeps at most one write
 * per name in flight, so sequences of one name are acknowledged in the order they were committed
 * and any answer at least as new as the last acknowledged one is correct, including a newer
 * write that was sent and committed while the read was under way.
 */
export function createStalenessChecker() {
  const acknowledged = new Map<string, { sequence: number; at: number }>();
  const stale: StaleRead[] = [];
  let checked = 0;

  return {
    acknowledge(name: string, sequence: number, at: number): void {
      const previous = acknowledged.get(name);
      if (previous && previous.sequence > sequence) throw new Error(`write ${sequence} to ${name} acknowledged after ${previous.sequence}`);
      acknowledged.set(name, { sequence, at });
    },

    /** A read of `name` sent at `sentAt` answered `info`; returns false when it was stale. */
    check(name: string, sentAt: number, info: string, cache?: string): boolean {
      const last = acknowledged.get(name);
      if (!last || sentAt <= last.at) return true;
      checked++;
      const returned = sequenceOf(info);
      if (returned >= last.sequence) return true;
      stale.push({ name, returned, expected: last.sequence, sentAfterAckMs: sentAt - last.at, cache });
      return false;
    },

    /** Reads sent after some acknowledged write to their name (the ones that could be stale). */
    get checked() {
      return checked;
    },
    get stale(): readonly StaleRead[] {
      return stale;
    },
  };
}

export type StalenessChecker = ReturnType<typeof createStalenessChecker>;

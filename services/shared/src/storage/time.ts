import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Retries `attempt` with capped exponential back-off until it succeeds or `signal` aborts.
 * For start-up work that must wait for a dependency rather than crash-loop the pod.
 */
export async function retryUntilDone<T>(
  attempt: () => Promise<T>,
  { signal, onError, maxDelayMs = 5_000 }: { signal: AbortSignal; onError: (error: unknown, delayMs: number) => void; maxDelayMs?: number },
): Promise<T | undefined> {
  for (let delay = 100; !signal.aborted; delay = Math.min(delay * 2, maxDelayMs)) {
    try {
      return await attempt();
    } catch (error) {
      if (signal.aborted) break;
      onError(error, delay);
      await sleep(delay, undefined, { signal }).catch(() => {});
    }
  }
  return undefined;
}

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** Rejects with a TimeoutError when `promise` has not settled within `ms`; for calls that may hang on a dead peer. */
export function withTimeout<T>(promise: PromiseLike<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// How the miss path batches its round trips to Redis and PostgreSQL.
/** Names per batch (an MGET, a fill script, a query); a larger batch waits for the next one. */
export const MAX_BATCH = 100;

/**
 * DataLoader options for the miss path's batches (Redis lookups, PostgreSQL reads, Redis fills):
 * the requests whose sockets were read in the same poll phase of the event loop share one MGET,
 * one query and one fill script, instead of a round trip (a socket write, a command or statement
 * for the server to parse and run) each. No cache: a result is never reused by a later load.
 * setImmediate, not DataLoader's default, because Node runs the microtask queue after every
 * socket's callback: a batch would then hold one request.
 */
export const batchOverOneTurn = { cache: false, maxBatchSize: MAX_BATCH, batchScheduleFn: (dispatch: () => void) => setImmediate(dispatch) } as const;

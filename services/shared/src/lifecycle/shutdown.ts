import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Lifecycle } from './health.ts';
import type { Logger } from '../observability/index.ts';

export interface ShutdownOptions {
  /** The API server: readiness fails first, then it drains. */
  server: Server;
  /** The /metrics server, if any: closed once the API has drained. */
  metricsServer?: Server | undefined;
  lifecycle: Lifecycle;
  logger: Logger;
  /** SHUTDOWN_DELAY_MS: between failing readiness and closing the listener, so endpoints drop this pod first. */
  delayMs: number;
  /** SHUTDOWN_TIMEOUT_MS: bound on waiting for requests in flight. */
  timeoutMs: number;
  /** Closes pools and other clients once no request is left. */
  close: () => Promise<void>;
}

/**
 * The shutdown sequence: fail readiness, wait SHUTDOWN_DELAY_MS, stop accepting, let requests in
 * flight finish (at most SHUTDOWN_TIMEOUT_MS), then close clients. The returned stop is safe to
 * call more than once; every call resolves when everything is closed.
 */
export function shutdownSequence({ server, metricsServer, lifecycle, logger, delayMs, timeoutMs, close }: ShutdownOptions): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => (stopping ??= shutdown());

  async function shutdown(): Promise<void> {
    lifecycle.shuttingDown = true;
    logger.info({ delayMs }, 'shutting down: readiness now fails');
    if (delayMs > 0) await sleep(delayMs);

    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // close() stops accepting and drops idle keep-alive sockets once; sockets still busy become
    // idle after their response, so keep sweeping until every connection is gone.
    const sweeper = setInterval(() => server.closeIdleConnections(), 50);
    const bound = new AbortController();
    const timedOut = await Promise.race([
      closed.then(() => false),
      sleep(timeoutMs, true, { signal: bound.signal }).catch(() => false),
    ]);
    bound.abort();
    clearInterval(sweeper);
    if (timedOut) {
      logger.warn({ timeoutMs }, 'requests still in flight at the shutdown bound; closing them');
      server.closeAllConnections();
    }
    if (metricsServer) {
      metricsServer.closeAllConnections();
      await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
    }
    await close();
    logger.info('stopped');
  }
}

/** Runs the shutdown sequence on SIGTERM (Kubernetes) and SIGINT (Ctrl-C); node may be PID 1. */
export function stopOnSignals(running: { stop: () => Promise<void> }, logger: Logger): void {
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'signal received');
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

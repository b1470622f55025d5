import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Lifecycle } from './health.ts';
import type { Logger } from './logger.ts';

export interface ServeOptions {
  fetch: (request: Request) => Response | Promise<Response>;
  port: number;
  logger: Logger;
  lifecycle: Lifecycle;
  /** Time between failing readiness and closing the listener, so endpoints drop this pod first. */
  shutdownDelayMs: number;
  /** Bound on waiting for in-flight requests before connections are cut. */
  shutdownTimeoutMs: number;
  /** Closes pools and other clients once no request is left. */
  close: () => Promise<void>;
}

export interface RunningServer {
  port: number;
  /** The shutdown sequence; resolves when everything is closed. Safe to call more than once. */
  stop: () => Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { logger, lifecycle } = options;
  const server = await new Promise<Server>((resolve, reject) => {
    const created = serve({ fetch: options.fetch, port: options.port }, () => resolve(created as Server)) as Server;
    created.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port }, 'listening');

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= shutdown());

  async function shutdown(): Promise<void> {
    lifecycle.shuttingDown = true;
    logger.info({ delayMs: options.shutdownDelayMs }, 'shutting down: readiness now fails');
    if (options.shutdownDelayMs > 0) await sleep(options.shutdownDelayMs);

    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // close() stops accepting and drops idle keep-alive sockets once; sockets still busy become
    // idle after their response, so keep sweeping until every connection is gone.
    const sweeper = setInterval(() => server.closeIdleConnections(), 50);
    const timedOut = await Promise.race([
      closed.then(() => false),
      sleep(options.shutdownTimeoutMs).then(() => true),
    ]);
    clearInterval(sweeper);
    if (timedOut) {
      logger.warn({ timeoutMs: options.shutdownTimeoutMs }, 'requests still in flight at the shutdown bound; closing them');
      server.closeAllConnections();
    }
    await options.close();
    logger.info('stopped');
  }

  return { port, stop };
}

/** Runs the shutdown sequence on SIGTERM (Kubernetes) and SIGINT (Ctrl-C); node may be PID 1. */
export function stopOnSignals(running: RunningServer, logger: Logger): void {
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

import { serve } from '@hono/node-server';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommonConfig } from './config.ts';
import type { Lifecycle } from './health.ts';
import type { Logger } from './logger.ts';
import type { RequestListener, Tracing } from './tracing.ts';

export interface ServeOptions {
  fetch: (request: Request) => Response | Promise<Response>;
  config: Pick<CommonConfig, 'SHUTDOWN_DELAY_MS' | 'SHUTDOWN_TIMEOUT_MS'> & { PORT: number };
  logger: Logger;
  lifecycle: Lifecycle;
  /** Closes pools and other clients once no request is left. */
  close: () => Promise<void>;
  /** Answers a request before the app when it can (and returns true): data-service's cache hits. */
  fastPath?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** A span per request around both the fast path and the app. */
  tracing?: Tracing | undefined;
}

export interface RunningServer {
  port: number;
  /** The shutdown sequence; resolves when everything is closed. Safe to call more than once. */
  stop: () => Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { logger, lifecycle } = options;
  // SHUTDOWN_DELAY_MS: between failing readiness and closing the listener, so endpoints drop this
  // pod first. SHUTDOWN_TIMEOUT_MS: bound on waiting for requests in flight.
  const { PORT: port, SHUTDOWN_DELAY_MS: delayMs, SHUTDOWN_TIMEOUT_MS: timeoutMs } = options.config;
  const server = await new Promise<Server>((resolve, reject) => {
    const { fastPath, tracing } = options;
    const listener = (appListener: RequestListener): RequestListener => {
      const first: RequestListener = fastPath
        ? (req, res) => {
            if (!fastPath(req, res)) appListener(req, res);
          }
        : appListener;
      return tracing ? tracing.traceRequests(first) : first;
    };
    const created = serve(
      {
        fetch: options.fetch,
        port,
        ...((fastPath || tracing) && {
          createServer: ((serverOptions: object, appListener: RequestListener) =>
            createServer(serverOptions, listener(appListener))) as typeof createServer,
        }),
      },
      () => resolve(created as Server),
    ) as Server;
    created.once('error', reject);
  });
  // With PORT=0 the OS picked the port.
  const boundPort = (server.address() as AddressInfo).port;
  logger.info({ port: boundPort }, 'listening');

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= shutdown());

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
    await options.close();
    logger.info('stopped');
  }

  return { port: boundPort, stop };
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

/** For main modules: a service that cannot start (its port taken, say) exits 1 with one line. */
export function exitOnStartFailure(error: unknown): never {
  process.stderr.write(`cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

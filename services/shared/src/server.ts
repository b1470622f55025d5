import { serve } from '@hono/node-server';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommonConfig } from './config.ts';
import type { Lifecycle } from './health.ts';
import type { Logger } from './logger.ts';
import type { RequestListener, Tracing } from './tracing.ts';
import type { Metrics } from './metrics.ts';

type ServerConfig = Pick<
  CommonConfig,
  'SHUTDOWN_DELAY_MS' | 'SHUTDOWN_TIMEOUT_MS' | 'METRICS_PORT' | 'HTTP_HEADERS_TIMEOUT_MS' | 'HTTP_REQUEST_TIMEOUT_MS' | 'HTTP_KEEP_ALIVE_TIMEOUT_MS'
> & { PORT: number };

export interface ServeOptions {
  fetch: (request: Request) => Response | Promise<Response>;
  config: ServerConfig;
  logger: Logger;
  lifecycle: Lifecycle;
  /** Closes pools and other clients once no request is left. */
  close: () => Promise<void>;
  /** Answers a request before the app when it can (and returns true): data-service's cache hits. */
  fastPath?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** A span per request around both the fast path and the app. */
  tracing?: Tracing | undefined;
  /** Served on METRICS_PORT when that is set (the app itself answers /metrics otherwise). */
  metrics: Metrics;
}

export interface RunningServer {
  port: number;
  /** The port answering /metrics when METRICS_PORT is set (0 picks a free one). */
  metricsPort?: number;
  /** The shutdown sequence; resolves when everything is closed. Safe to call more than once. */
  stop: () => Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { logger, lifecycle } = options;
  // SHUTDOWN_DELAY_MS: between failing readiness and closing the listener, so endpoints drop this
  // pod first. SHUTDOWN_TIMEOUT_MS: bound on waiting for requests in flight.
  const { PORT: port, SHUTDOWN_DELAY_MS: delayMs, SHUTDOWN_TIMEOUT_MS: timeoutMs } = options.config;
  const serverOptions = httpServerOptions(options.config);
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
        serverOptions,
        ...((fastPath || tracing) && {
          createServer: ((serverOptions: object, appListener: RequestListener) =>
            createServer(serverOptions, listener(appListener))) as typeof createServer,
        }),
      },
      () => resolve(created as Server),
    ) as Server;
    created.once('error', reject);
  });
  limitHeaders(server);
  // With PORT=0 the OS picked the port.
  const boundPort = (server.address() as AddressInfo).port;
  logger.info({ port: boundPort }, 'listening');
  const metricsServer = options.config.METRICS_PORT === undefined ? undefined : await startMetricsServer(options.config.METRICS_PORT, serverOptions, options.metrics);
  const metricsPort = metricsServer && (metricsServer.address() as AddressInfo).port;
  if (metricsServer) logger.info({ metricsPort }, 'metrics listening');

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
    if (metricsServer) {
      metricsServer.closeAllConnections();
      await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
    }
    await options.close();
    logger.info('stopped');
  }

  return { port: boundPort, ...(metricsPort !== undefined && { metricsPort }), stop };
}

/** The most headers a request may carry (node's default, 2000, serves no client of these APIs). */
const MAX_HEADERS_COUNT = 100;
/** Bytes of all request headers together (node's default, stated so it cannot drift). */
const MAX_HEADER_BYTES = 16 * 1024;

/**
 * node:http bounds against slow or endless clients: all headers within HTTP_HEADERS_TIMEOUT_MS,
 * the whole request within HTTP_REQUEST_TIMEOUT_MS, idle keep-alive sockets closed after
 * HTTP_KEEP_ALIVE_TIMEOUT_MS. Node checks the first two on an interval, so the interval follows
 * the timeout; a short timeout with the default 30 s interval would not cut anyone off in time.
 */
function httpServerOptions(config: ServerConfig) {
  return {
    headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeout: Math.max(config.HTTP_REQUEST_TIMEOUT_MS, config.HTTP_HEADERS_TIMEOUT_MS),
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: Math.min(1_000, config.HTTP_HEADERS_TIMEOUT_MS),
    maxHeaderSize: MAX_HEADER_BYTES,
  };
}

function limitHeaders(server: Server): void {
  server.maxHeadersCount = MAX_HEADERS_COUNT;
}

/**
 * GET /metrics on its own port, so the API port (the one an Ingress exposes) never serves it and
 * a NetworkPolicy can admit only the monitoring namespace here. Plain node:http: nothing else lives here.
 */
async function startMetricsServer(port: number, serverOptions: ReturnType<typeof httpServerOptions>, metrics: Metrics): Promise<Server> {
  const server = createServer(serverOptions, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const headers = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };
    if (path !== '/metrics') {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end('only /metrics is served on this port\n');
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    } else {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
        () => res.writeHead(500, { ...headers, 'content-type': 'text/plain' }).end('metrics unavailable\n'),
      );
    }
  });
  limitHeaders(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  return server;
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

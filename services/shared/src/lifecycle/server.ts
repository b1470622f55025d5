import { getRequestListener } from '@hono/node-server';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CommonConfig } from '../config/index.ts';
import type { Lifecycle } from './health.ts';
import type { Logger, RequestListener, Tracing, Metrics } from '../observability/index.ts';
import { shutdownSequence } from './shutdown.ts';

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
  /**
   * data-service's read lane (read-lane.ts): answers a request before the app when it can (and
   * returns true), else the app answers.
   */
  readLane?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** A span per request around both the read lane and the app. */
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

/**
 * The API on node:http with @hono/node-server's listener for the app, behind the read lane and
 * the request span when those are given; /metrics on its own port when METRICS_PORT is set.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { logger, lifecycle, readLane, tracing } = options;
  const serverOptions = httpServerOptions(options.config);
  const app = getRequestListener(options.fetch);
  const first: RequestListener = readLane
    ? (req, res) => {
        if (!readLane(req, res)) void app(req, res);
      }
    : app;
  const server = createServer(serverOptions, tracing ? tracing.traceRequests(first) : first);
  limitHeaders(server);
  await listen(server, options.config.PORT);
  // With PORT=0 the OS picked the port.
  const boundPort = (server.address() as AddressInfo).port;
  logger.info({ port: boundPort }, 'listening');
  const metricsServer = options.config.METRICS_PORT === undefined ? undefined : await startMetricsServer(options.config.METRICS_PORT, serverOptions, options.metrics);
  const metricsPort = metricsServer && (metricsServer.address() as AddressInfo).port;
  if (metricsServer) logger.info({ metricsPort }, 'metrics listening');

  const stop = shutdownSequence({
    server,
    metricsServer,
    lifecycle,
    logger,
    delayMs: options.config.SHUTDOWN_DELAY_MS,
    timeoutMs: options.config.SHUTDOWN_TIMEOUT_MS,
    close: options.close,
  });
  return { port: boundPort, ...(metricsPort !== undefined && { metricsPort }), stop };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve();
    });
  });
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
  await listen(server, port);
  return server;
}

/** For main modules: a service that cannot start (its port taken, say) exits 1 with one line. */
export function exitOnStartFailure(error: unknown): never {
  process.stderr.write(`cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

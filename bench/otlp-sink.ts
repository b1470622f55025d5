// Stands in for an OpenTelemetry collector while a service runs with tracing on: accepts OTLP/HTTP
// exports and counts the spans, so the report can say how many were sent.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function startOtlpSink() {
  let spans = 0;
  let exports = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      exports += 1;
      // A count, not a decode: every span of the JSON export has exactly one spanId.
      spans += Buffer.concat(chunks).toString('utf8').split('"spanId"').length - 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Spans received since the last call, and in how many exports. */
    take() {
      const taken = { spans, exports };
      spans = 0;
      exports = 0;
      return taken;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

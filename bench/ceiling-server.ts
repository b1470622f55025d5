// The ceiling: what node:http alone manages on this machine, answering a constant body of the
// size a user takes. Nothing the services do can be faster than this.
import http from 'node:http';

const body = JSON.stringify({
  name: 'u100000',
  info: 'registered by the benchmark seed: a line of text the size of a short profile',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  cached: true,
});
const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-cache': 'HIT' };

const server = http.createServer((_req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(Number(process.env.PORT ?? 18401), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});

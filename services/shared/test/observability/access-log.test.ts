// Which requests get an access line at info, and that every request is in the metric anyway.
import { describe, expect, it } from 'vitest';
import { requestRecorder, SLOW_REQUEST_SECONDS, createLogger, createMetrics } from '../../src/observability/index.ts';
import { LogCapture } from '../../../../test/support/services.ts';

function recorderAt(level: string) {
  const logs = new LogCapture();
  const metrics = createMetrics('test-service');
  const record = requestRecorder(createLogger('test-service', level, logs), metrics);
  const request = (status: number, seconds = 0.002, method = 'GET', route = '/user/:name') =>
    record({ requestId: 'r1', method, path: route === '/user/:name' ? '/user/amit' : route, route, status, seconds });
  const counted = async () => {
    const text = await metrics.registry.metrics();
    return [...text.matchAll(/^http_server_request_duration_seconds_count\{[^}]*\} (\d+)$/gm)].reduce((sum, [, n]) => sum + Number(n), 0);
  };
  // pino writes asynchronously to a stream destination.
  const lines = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    return logs.lines.filter((line) => line.msg === 'request');
  };
  return { request, counted, lines };
}

describe('access lines', () => {
  it('at info only for writes, server errors and slow requests, never for probes; every request is counted', async () => {
    const { request, counted, lines } = recorderAt('info');
    request(200);
    request(404);
    request(400);
    request(503);
    request(200, SLOW_REQUEST_SECONDS + 0.5);
    request(204, 0.002, 'DELETE');
    request(409, 0.002, 'POST');
    request(200, 0.002, 'HEAD');
    request(503, 0.002, 'GET', '/health/ready');
    request(200, SLOW_REQUEST_SECONDS + 0.5, 'GET', '/metrics');

    const logged = await lines();
    expect(logged.map((line) => [line.method, line.status, line.level])).toEqual([
      ['GET', 503, 'info'],
      ['GET', 200, 'info'],
      ['DELETE', 204, 'info'],
      ['POST', 409, 'info'],
    ]);
    expect(logged[1]).toMatchObject({ requestId: 'r1', method: 'GET', path: '/user/amit', route: '/user/:name', ms: 1500 });
    expect(await counted()).toBe(10);
  });

  it('for every request at debug', async () => {
    const { request, lines } = recorderAt('debug');
    request(200);
    request(404);
    request(503);
    expect((await lines()).map((line) => [line.status, line.level])).toEqual([[200, 'debug'], [404, 'debug'], [503, 'info']]);
  });
});

// What the metrics promise on their own: a histogram that can show a timed-out request, and a
// build info series that says what runs.
import { describe, expect, it } from 'vitest';
import { commonEnv, parseEnv, revision, version } from '../../src/config/index.ts';
import { createMetrics, REQUEST_DURATION_BUCKETS } from '../../src/observability/index.ts';

describe('request duration histogram', () => {
  it('has finite buckets past the longest a request can wait: a Redis command, then a PostgreSQL connect and query', () => {
    const defaults = parseEnv(commonEnv, {});
    const redisLongest = (commonEnv.shape.REDIS_COMMAND_TIMEOUT_MS.unwrap() as unknown as { maxValue: number }).maxValue / 1000;
    const pgConnect = 3;
    const longest = redisLongest + pgConnect + defaults.PG_QUERY_TIMEOUT_MS / 1000;
    expect(Math.max(...REQUEST_DURATION_BUCKETS)).toBeGreaterThanOrEqual(Math.max(10, longest));
  });

  it('records a request slower than every timeout in a finite bucket, with the OpenTelemetry labels', async () => {
    const metrics = createMetrics('test-service');
    metrics.httpDuration.observe({ http_request_method: 'GET', http_route: '/user/:name', http_response_status_code: 503 }, 8.2);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^http_server_request_duration_seconds_bucket\{le="5",service="test-service",http_request_method="GET",http_route="\/user\/:name",http_response_status_code="503"\} 0$/m);
    expect(text).toMatch(/^http_server_request_duration_seconds_bucket\{le="10",[^}]*\} 1$/m);
  });
});

describe('users_build_info', () => {
  it('is 1, labelled with the version of package.json and the revision the image was built from', async () => {
    const text = await createMetrics('test-service').registry.metrics();
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(text).toContain(`users_build_info{version="${version}",revision="${revision}",service="test-service"} 1`);
    expect(revision).toBe(process.env.BUILD_REVISION?.trim() || 'unknown');
  });
});

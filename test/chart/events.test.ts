// The chart's event settings as user-service reads them: the ConfigMap it renders, parsed by the
// service's own configuration schema.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../services/shared/src/config/index.ts';
import { userEnv } from '../../services/user/src/config.ts';
import { find, render, type RenderableChart, type RenderOptions, renderableChart } from './support/helm.ts';

let chart: RenderableChart;
beforeAll(() => {
  chart = renderableChart();
});
afterAll(() => chart?.dispose());

/** user-service's configuration from the rendered ConfigMap (the signing key comes from a Secret, not from here). */
function userConfig(options: RenderOptions = {}) {
  const data = find(render(chart.dir, options), 'ConfigMap', 'users-user-service').data as Record<string, string>;
  return { data, config: parseEnv(userEnv, { ...data, JWT_SECRET: 'k'.repeat(32) }) };
}

describe('userService.events', () => {
  it('are on by default, on the stream user-events, kept a day in the outbox', () => {
    const { config } = userConfig();
    expect(config).toMatchObject({ EVENTS_ENABLED: true, EVENTS_STREAM: 'user-events', EVENTS_STREAM_MAX_LENGTH: 100_000, EVENTS_RETENTION: 86_400 });
    const data = find(render(chart.dir), 'ConfigMap', 'users-data-service').data as Record<string, string>;
    expect(Object.keys(data).filter((key) => key.startsWith('EVENTS_'))).toEqual([]);
  });

  it('take the stream, its bound and the retention from values', () => {
    const { config } = userConfig({ set: { 'userService.events.stream': 'shop:user-events', 'userService.events.streamMaxLength': 5000, 'userService.events.retention': '7d' } });
    expect(config).toMatchObject({ EVENTS_STREAM: 'shop:user-events', EVENTS_STREAM_MAX_LENGTH: 5000, EVENTS_RETENTION: 7 * 86_400 });
  });

  it('turn off with one value', () => {
    const { data, config } = userConfig({ set: { 'userService.events.enabled': false } });
    expect(config.EVENTS_ENABLED).toBe(false);
    expect(data.EVENTS_STREAM).toBeUndefined();
  });

  it('refuse, at render time and with the fix, a stream under the cache key prefix', () => {
    expect(() => render(chart.dir, { set: { 'userService.events.stream': 'users:events' } })).toThrow(/choose a stream name outside that prefix/);
  });

  it('refuse a retention that is not a duration (values.schema.json)', () => {
    expect(() => render(chart.dir, { set: { 'userService.events.retention': 'a week' } })).toThrow(/retention/);
  });
});

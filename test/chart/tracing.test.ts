// tracing.otlpEndpoint reaches both services as OpenTelemetry's own variable, and what they make of
// it is where the services then send spans (the same config parsing the services run).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../services/shared/src/config/index.ts';
import { tracesEndpoint } from '../../services/shared/src/observability/index.ts';
import { dataEnv } from '../../services/data/src/config.ts';
import { userEnv } from '../../services/user/src/config.ts';
import { find, helm, render, templateArgs, type KubeObject, type RenderableChart, renderableChart } from './support/helm.ts';
import { clusterState } from './support/kubelet-env.ts';
import { validateObject } from './support/validate.ts';

let chart: RenderableChart;
beforeAll(() => {
  chart = renderableChart();
});
afterAll(() => chart.dispose());

type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };
type Container = { name: string; env?: EnvVar[] };

/**
 * The container's literal variables, plus those read from Secrets that this chart renders itself
 * (the signing key); the databases' Secrets come from the subcharts and are not needed here.
 */
function serviceEnv(objects: KubeObject[], service: 'user-service' | 'data-service'): Record<string, string> {
  const deployment = find(objects, 'Deployment', `users-${service}`) as KubeObject & { spec: { template: { spec: { containers: Container[] } } } };
  const container = deployment.spec.template.spec.containers.find((c) => c.name === service)!;
  const secrets = clusterState(objects, { name: 'pod', namespace: 'default' }).secrets;
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    const value = variable.value ?? (ref ? secrets.get(ref.name)?.[ref.key] : undefined);
    if (value !== undefined) env[variable.name] = value;
  }
  return env;
}

describe('tracing.otlpEndpoint', () => {
  it('is unset by default: no OTEL_ variable, so tracing stays off', () => {
    const objects = render(chart.dir, { release: 'users' });
    for (const service of ['user-service', 'data-service'] as const) {
      const env = serviceEnv(objects, service);
      expect(Object.keys(env).filter((name) => name.startsWith('OTEL_'))).toEqual([]);
    }
  });

  it('sets OTEL_EXPORTER_OTLP_ENDPOINT on both services, which then export to <endpoint>/v1/traces', async () => {
    const endpoint = 'http://otel-collector.observability:4318';
    const objects = render(chart.dir, { release: 'users', set: { 'tracing.otlpEndpoint': endpoint } });
    for (const service of ['user-service', 'data-service'] as const) {
      const env = serviceEnv(objects, service);
      expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(endpoint);
      expect(tracesEndpoint(parseEnv(service === 'user-service' ? userEnv : dataEnv, env))).toBe(`${endpoint}/v1/traces`);
      await validateObject(find(objects, 'Deployment', `users-${service}`));
    }
  });

  it('rejects an endpoint without http:// or https://', () => {
    const result = helm(templateArgs(chart.dir, { set: { 'tracing.otlpEndpoint': 'otel-collector:4318' } }));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/otlpEndpoint/);
  });
});

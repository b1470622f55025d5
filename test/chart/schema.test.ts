// values.schema.json, enforced by the real helm: typos and wrong types in our own values fail the
// install instead of being silently ignored; the subcharts' own values stay open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { helm, renderableChart, templateArgs, type RenderableChart } from './support/helm.ts';

let chart: RenderableChart;
let scratch: string;
beforeAll(() => {
  chart = renderableChart();
  scratch = mkdtempSync(join(tmpdir(), 'users-values-'));
});
afterAll(() => {
  chart.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

/** Renders with one extra values file (YAML, so types are exactly as written). */
function renderWith(values: unknown): { status: number; stderr: string } {
  const file = join(scratch, `values-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify(values));
  return helm(templateArgs(chart.dir, { valuesFiles: [file] }));
}

describe('values.schema.json', () => {
  it('accepts the defaults and the production profile', () => {
    expect(renderWith({}).status).toBe(0);
    expect(helm(templateArgs(chart.dir, { valuesFiles: [join(chart.dir, 'values-prod.yaml')] })).status).toBe(0);
  });

  it.each([
    ['a misspelled service key', { userService: { replicas: 2 } }, /replicas/],
    ['a misspelled top-level key', { networkPolicies: { enabled: true } }, /networkPolicies/],
    ['a misspelled image key', { dataService: { image: { repo: 'x' } } }, /repo/],
    ['a misspelled external database key', { externalDatabase: { hostname: 'db' } }, /hostname/],
    ['a misspelled probe timing', { probes: { liveness: { periodSecond: 5 } } }, /periodSecond/],
    ['a misspelled security context field', { containerSecurityContext: { readOnlyRootFileSystem: true } }, /readOnlyRootFileSystem/],
  ])('rejects %s', (_case, values, message) => {
    const result = renderWith(values);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/values don't meet the specifications of the schema|schema/i);
    expect(result.stderr).toMatch(message);
  });

  it.each([
    ['replicaCount as a string', { userService: { replicaCount: 'two' } }, /replicaCount/],
    ['seedDemoUsers as a string', { userService: { seedDemoUsers: 'true' } }, /seedDemoUsers/],
    ['an image tag as a number', { userService: { image: { tag: 1.2 } } }, /tag/],
    ['a pull policy that does not exist', { dataService: { image: { pullPolicy: 'Sometimes' } } }, /pullPolicy/],
    ['a port out of range', { externalDatabase: { port: 70000 } }, /port/],
    ['postgresql.enabled as a string', { postgresql: { enabled: 'false' } }, /enabled/],
    ['a Redis architecture the services cannot use', { redis: { architecture: 'replication' } }, /architecture/],
    ['a log level the services reject', { config: { logLevel: 'verbose' } }, /logLevel/],
    ['a cache TTL of zero', { dataService: { cache: { ttlSeconds: 0 } } }, /ttlSeconds/],
  ])('rejects %s', (_case, values, message) => {
    const result = renderWith(values);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });

  it("leaves the subcharts' own values to the subcharts", () => {
    const result = renderWith({ postgresql: { primary: { persistence: { size: '20Gi' } } }, redis: { master: { persistence: { enabled: false } } } });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('refuses a grace period that does not cover the shutdown delay and drain', () => {
    const result = renderWith({ shutdown: { delayMs: 10_000, timeoutMs: 20_000, terminationGracePeriodSeconds: 30 } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/terminationGracePeriodSeconds \(30\) must exceed/);
  });

  it('requires a host for an external server', () => {
    const result = renderWith({ postgresql: { enabled: false } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/externalDatabase\.host is required/);
  });
});

// The dashboard and the alerts against a real Prometheus (Debian package `prometheus`, its own
// port, data folder and config) scraping the real services, which run on the real PostgreSQL and
// Redis. The test sends known traffic, then evaluates every query of the dashboard (variables
// resolved and substituted as Grafana would) and every alert expression of the rendered
// PrometheusRule through Prometheus' HTTP API, and checks each answer against that traffic.
//
// Pods and the cluster around them cannot run here, so two stand-ins say what they would:
// - target labels (job, namespace, service, pod) as the Prometheus Operator attaches them to a
//   ServiceMonitor's targets; the services' own `service` label becomes `exported_service`;
// - kube-state-metrics, whose two Deployment series are computed from the services' real
//   readiness (a pod counts as available while its /health/ready answers 200).
// A neighbour in the namespace (another workload's exporter) proves that its series reach no panel.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createLogger } from '../services/shared/src/observability/index.ts';
import { commonEnv, revision, version } from '../services/shared/src/config/index.ts';
import { migrate } from '../services/user/src/migrate.ts';
import { renderableChart, repoRoot } from './chart/support/helm.ts';
import { createTestDatabase, PG, type TestDatabase } from './support/postgres.ts';
import { LocalPrometheus, missingPrometheus, promtool, renderedRuleGroups, type RuleGroup, type Sample } from './support/prometheus.ts';
import { postJson, startData, startUser, waitFor } from './support/services.ts';
import { TcpProxy } from './support/tcp-proxy.ts';
import { freePort } from '../scripts/free-port.ts';

const NAMESPACE = 'obs-test';
const SCRAPE_SECONDS = 1;
const USER_JOB = 'users-user-service';
const DATA_JOB = 'users-data-service';
const POOL_MAX = 3;

type Service = Awaited<ReturnType<typeof startUser>> | Awaited<ReturnType<typeof startData>>;

/**
 * Where Prometheus scrapes a service. The one place that knows: when /metrics moves to its own
 * port, this is what changes.
 */
function metricsEndpoint(service: Service): { address: string; metricsPath: string } {
  return { address: `127.0.0.1:${service.port}`, metricsPath: '/metrics' };
}
const metricsUrl = (service: Service) => {
  const { address, metricsPath } = metricsEndpoint(service);
  return `http://${address}${metricsPath}`;
};

// The traffic of the measured window, and what it must show.
const REGISTERED_ON_USER_0 = 20;
const CONFLICTS_ON_USER_0 = 5;
const REGISTERED_ON_USER_1 = 10; // user-1 cannot reach Redis: every eviction is missed
const UNKNOWN_READS = 10;
const FAILED_READS = 10; // on data-2, whose PostgreSQL is cut
const expected = {
  user: { '/register 201': REGISTERED_ON_USER_0 + REGISTERED_ON_USER_1, '/register 409': CONFLICTS_ON_USER_0 },
  // data-0 reads every name twice (PostgreSQL, then its own tier) and unknown names once;
  // data-1 reads every name once (Redis, filled by data-0).
  data: {
    '/user/:name 200': 3 * REGISTERED_ON_USER_0,
    '/user/:name 404': UNKNOWN_READS,
    '/user/:name 503': FAILED_READS,
  },
  localHits: REGISTERED_ON_USER_0,
  redisHits: REGISTERED_ON_USER_0,
  databaseReads: REGISTERED_ON_USER_0 + UNKNOWN_READS,
  // Every new row is announced; the two listening replicas each evict it.
  invalidations: 2 * (REGISTERED_ON_USER_0 + REGISTERED_ON_USER_1),
  missedEvictions: REGISTERED_ON_USER_1,
};
const DATA_5XX_SHARE = FAILED_READS / (3 * REGISTERED_ON_USER_0 + UNKNOWN_READS + FAILED_READS);

let db: TestDatabase;
let prometheus: LocalPrometheus;
let scratch: string;
let rules: RuleGroup[];
const pods = new Map<string, { job: string; service: Service }>();
const podsOf = (job: string) => [...pods].filter(([, pod]) => pod.job === job).map(([name]) => name).sort();
const pgProxy = new TcpProxy(PG.port, PG.host);
const helpers: Server[] = [];
/** Evaluation time and window (seconds) that hold exactly the measured traffic. */
let evalTime = 0;
let windowSeconds = 0;


/** A scrape target answering text exposition made on each scrape. */
async function exporter(body: () => Promise<string> | string): Promise<string> {
  const server = createServer((_req, res) => {
    Promise.resolve(body()).then((text) => res.end(text), () => res.writeHead(500).end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  helpers.push(server);
  return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

const ready = (service: Service) => fetch(`${service.url}/health/ready`).then((r) => r.status === 200, () => false);

/** kube-state-metrics' Deployment series, from the pods' real readiness. */
async function kubeStateMetrics(): Promise<string> {
  const lines = ['# TYPE kube_deployment_spec_replicas gauge', '# TYPE kube_deployment_status_replicas_available gauge'];
  for (const job of [USER_JOB, DATA_JOB]) {
    const members = podsOf(job).map((name) => pods.get(name)!.service);
    const available = (await Promise.all(members.map(ready))).filter(Boolean).length;
    lines.push(`kube_deployment_spec_replicas{namespace="${NAMESPACE}",deployment="${job}"} ${members.length}`);
    lines.push(`kube_deployment_status_replicas_available{namespace="${NAMESPACE}",deployment="${job}"} ${available}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Another workload's exporter in the same namespace: what once leaked into the memory panel. */
const NEIGHBOUR = [
  '# TYPE process_resident_memory_bytes gauge',
  'process_resident_memory_bytes 123456789',
  '# TYPE process_cpu_seconds_total counter',
  'process_cpu_seconds_total 42',
  '# TYPE nodejs_eventloop_lag_p99_seconds gauge',
  'nodejs_eventloop_lag_p99_seconds 3',
  '# TYPE http_server_request_duration_seconds_count counter',
  'http_server_request_duration_seconds_count{http_request_method="GET",http_route="/x",http_response_status_code="500"} 1000',
  '# TYPE cache_redis_state gauge',
  'cache_redis_state{state="down"} 1',
  '',
].join('\n');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const get = (service: Service, path: string) => fetch(`${service.url}${path}`).then(async (r) => (await r.arrayBuffer(), r.status));
const register = (service: Service, name: string) => postJson(`${service.url}/register`, { name }).then(async (r) => (await r.arrayBuffer(), r.status));

async function metricValue(service: Service, name: string): Promise<number> {
  const text = await (await fetch(metricsUrl(service))).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

/** Until every target of ours has been scraped at least twice since `since` (seconds). */
async function scrapedSince(since: number): Promise<void> {
  await waitFor(async () => {
    const [oldest] = await prometheus.query(`min(timestamp(users_build_info{namespace="${NAMESPACE}"}))`);
    return oldest !== undefined && oldest.value > since + SCRAPE_SECONDS;
  }, 15_000, 100);
}

describe.skipIf(missingPrometheus)(`dashboard and alerts against a real Prometheus${missingPrometheus ? ` (skipped: ${missingPrometheus})` : ''}`, () => {
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'users-observability-'));
    db = await createTestDatabase('observability');
    await migrate(db.sql, createLogger('test', 'silent'));
    await pgProxy.start();

    const common = { LOG_LEVEL: 'warn', PG_POOL_MAX: POOL_MAX };
    pods.set('user-0', { job: USER_JOB, service: await startUser(db.name, common) });
    pods.set('user-1', { job: USER_JOB, service: await startUser(db.name, { ...common, MIGRATE_ON_START: 'false', REDIS_PORT: await freePort() }) });
    pods.set('data-0', { job: DATA_JOB, service: await startData(db.name, common) });
    pods.set('data-1', { job: DATA_JOB, service: await startData(db.name, common) });
    pods.set('data-2', { job: DATA_JOB, service: await startData(db.name, { ...common, PGPORT: pgProxy.port }) });
    await waitFor(async () => (await Promise.all(['user-0', 'data-0', 'data-1', 'data-2'].map((pod) => ready(pods.get(pod)!.service)))).every(Boolean), 10_000, 50);

    // The rules as the chart renders them, with a latency threshold the test's requests exceed.
    const chart = renderableChart();
    try {
      const values = join(scratch, 'values.yaml');
      writeFileSync(values, stringify({ prometheusRule: { latencyP99Seconds: 0.0005 } }));
      rules = renderedRuleGroups(chart.dir, { release: 'users', namespace: NAMESPACE, valuesFiles: [values] }).groups;
    } finally {
      chart.dispose();
    }
    writeFileSync(join(scratch, 'rules.yaml'), stringify({ groups: rules }));

    const targets = [...pods].map(([pod, { job, service }]) => ({
      ...metricsEndpoint(service),
      labels: { job, namespace: NAMESPACE, service: job, pod },
    }));
    targets.push({ address: await exporter(() => NEIGHBOUR), metricsPath: '/metrics', labels: { job: 'users-postgresql', namespace: NAMESPACE, service: 'users-postgresql', pod: 'users-postgresql-0' } });
    const kubeState = { address: await exporter(kubeStateMetrics), metricsPath: '/metrics', labels: { job: 'kube-state-metrics', namespace: 'monitoring' }, honorLabels: true };
    prometheus = await new LocalPrometheus().start({ targets: [...targets, kubeState], scrapeIntervalSeconds: SCRAPE_SECONDS, ruleFiles: [join(scratch, 'rules.yaml')] });

    // Warm-up: every series the measured window reads exists before it starts (a counter's
    // first sample cannot show an increase).
    const [user0, user1, data0, data1, data2] = ['user-0', 'user-1', 'data-0', 'data-1', 'data-2'].map((pod) => pods.get(pod)!.service) as [Service, Service, Service, Service, Service];
    expect(await register(user0, 'warm')).toBe(201);
    expect(await register(user0, 'warm')).toBe(409);
    expect(await register(user1, 'warm-1')).toBe(201);
    await waitFor(async () => (await metricValue(data1, 'cache_invalidations_total')) >= 2);
    // user-1 has no Redis: if its relay led first, it steps down for user-0, which publishes for both.
    await waitFor(async () => (await metricValue(user0, 'user_events_relay_leader')) === 1, 30_000, 100);
    expect(await get(data0, '/user/warm')).toBe(200);
    expect(await get(data0, '/user/warm')).toBe(200);
    expect(await get(data1, '/user/warm')).toBe(200);
    expect(await get(data0, '/user/nobody')).toBe(404);
    await pgProxy.cut();
    await waitFor(async () => !(await ready(data2)), 10_000, 50);
    expect(await get(data2, '/user/warm')).toBe(503);

    await scrapedSince(Date.now() / 1000);
    const start = Date.now() / 1000;
    await sleep(1.5 * SCRAPE_SECONDS * 1000);

    // The measured traffic.
    const names = Array.from({ length: REGISTERED_ON_USER_0 }, (_, i) => `user-${i}`);
    expect(await Promise.all(names.map((name) => register(user0, name)))).toEqual(names.map(() => 201));
    expect(await Promise.all(names.slice(0, CONFLICTS_ON_USER_0).map((name) => register(user0, name)))).toEqual(Array(CONFLICTS_ON_USER_0).fill(409));
    const others = Array.from({ length: REGISTERED_ON_USER_1 }, (_, i) => `other-${i}`);
    expect(await Promise.all(others.map((name) => register(user1, name)))).toEqual(others.map(() => 201));
    // Reads after the replicas evicted the new names, so none is raced by its own NOTIFY.
    await waitFor(async () => {
      const counts = await Promise.all([data0, data1].map((data) => metricValue(data, 'cache_invalidations_total')));
      return counts.every((count) => count >= 2 + REGISTERED_ON_USER_0 + REGISTERED_ON_USER_1);
    });
    expect(await Promise.all(names.map((name) => get(data0, `/user/${name}`)))).toEqual(names.map(() => 200));
    expect(await Promise.all(names.map((name) => get(data0, `/user/${name}`)))).toEqual(names.map(() => 200));
    expect(await Promise.all(names.map((name) => get(data1, `/user/${name}`)))).toEqual(names.map(() => 200));
    const unknown = Array.from({ length: UNKNOWN_READS }, (_, i) => `/user/unknown-${i}`);
    expect(await Promise.all(unknown.map((path) => get(data0, path)))).toEqual(unknown.map(() => 404));
    const failing = names.slice(0, FAILED_READS);
    expect(await Promise.all(failing.map((name) => get(data2, `/user/${name}`)))).toEqual(failing.map(() => 503));

    await scrapedSince(Date.now() / 1000);
    evalTime = Date.now() / 1000;
    windowSeconds = Math.ceil(evalTime - start);
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await Promise.all([...pods.values()].map(({ service }) => service.stop()));
    await pgProxy.close();
    for (const server of helpers) server.close();
    await db?.drop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('promtool check metrics finds nothing to say about either service', async () => {
    for (const pod of ['user-0', 'data-0']) {
      const text = await (await fetch(metricsUrl(pods.get(pod)!.service))).text();
      const result = promtool(['check', 'metrics'], text);
      expect(result.output, pod).toBe('');
      expect(result.status, pod).toBe(0);
    }
  });

  it('Prometheus scrapes every target and evaluates every rule without error', async () => {
    const health = await prometheus.targetHealth();
    expect(health.filter((target) => target.health !== 'up')).toEqual([]);
    expect(health).toHaveLength(pods.size + 2);
    const answer = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
    const loaded = answer.data.groups.flatMap((group) => group.rules);
    expect(loaded.map((rule) => rule.name).sort()).toEqual(rules.flatMap((group) => group.rules.map((rule) => rule.alert!)).sort());
    expect(loaded.filter((rule) => rule.health !== 'ok')).toEqual([]);
  });

  describe('the dashboard', () => {
    const dashboard = JSON.parse(readFileSync(join(repoRoot, 'helm/dashboards/users-services.json'), 'utf8')) as Dashboard;
    const variables: Record<string, string[]> = {};

    beforeAll(async () => {
      for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
        variables[variable.name] = await labelValues(substitute(variable.definition!, variables));
      }
    });

    it('resolves its variables to our namespace, our two jobs and our two services only', () => {
      expect(variables).toEqual({ namespace: [NAMESPACE], job: [DATA_JOB, USER_JOB], service: [DATA_JOB, USER_JOB] });
    });

    it('has a row per service, and every query uses the job, namespace and service variables', () => {
      const rows = dashboard.panels.filter((panel) => panel.type === 'row');
      expect(rows[0]).toMatchObject({ title: '$service', repeat: 'service' });
      for (const { expr } of queries(dashboard)) {
        for (const selector of expr.matchAll(/\{([^}]*)\}/g)) {
          expect(selector[1], expr).toMatch(/namespace=~"\$namespace", job=~"\$job", service=~"\$service"/);
        }
      }
      for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) expect(panel.fieldConfig?.defaults.noValue, panel.title).toBe('0');
    });

    it('answers every query with what the traffic was', async () => {
      const checked: string[] = [];
      for (const { row, panel, refId, expr } of queries(dashboard)) {
        const serviceValues = row?.repeat === 'service' ? variables.service!.map((value) => [value]) : [variables.service!];
        for (const service of serviceValues) {
          const query = substitute(expr, { ...variables, service }).replaceAll('$__rate_interval', `${windowSeconds}s`);
          const samples = await prometheus.query(query, evalTime);
          const key = `${panel.title} ${refId}`;
          const check = dashboardExpectations[key];
          if (!check) throw new Error(`no expectation for the query "${key}": ${expr}`);
          const job = service.length === 1 ? service[0]! : undefined;
          try {
            check(samples, job);
          } catch (error) {
            throw new Error(`${key} (service ${service.join('|')}): ${(error as Error).message}\n${query}\n${JSON.stringify(samples)}`);
          }
          checked.push(key);
        }
      }
      expect(new Set(checked)).toEqual(new Set(Object.keys(dashboardExpectations)));
    });
  });

  describe('the alert expressions', () => {
    const alert = (name: string) => rules.flatMap((group) => group.rules).find((rule) => rule.alert === name)!;
    const evaluate = (name: string) => prometheus.query(alert(name).expr, evalTime);
    const labelsOf = (samples: Sample[], ...keys: string[]) =>
      samples.map((s) => Object.fromEntries(keys.map((key) => [key, s.metric[key]]))).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

    it.each(['UsersErrorBudgetBurnFast', 'UsersErrorBudgetBurnSlow'])('%s: data-service, whose replica answered 503, and not user-service', async (name) => {
      const samples = await evaluate(name);
      expect(labelsOf(samples, 'namespace', 'job')).toEqual([{ namespace: NAMESPACE, job: DATA_JOB }]);
      // The windows reach back before the warm-up: its one 503 among its reads is in them too.
      expectNear(samples[0]!.value, DATA_5XX_SHARE, 0.25);
    });

    it('UsersLatencyP99High: both services, with a p99 above the (lowered) threshold', async () => {
      const samples = await evaluate('UsersLatencyP99High');
      expect(labelsOf(samples, 'job')).toEqual([{ job: DATA_JOB }, { job: USER_JOB }]);
      for (const sample of samples) slowestPercent(sample.value, sample.metric.job);
    });

    it('UsersCacheListenerDown: the replica whose PostgreSQL is cut, and only it', async () => {
      const samples = await evaluate('UsersCacheListenerDown');
      expect(labelsOf(samples, 'pod')).toEqual([{ pod: 'data-2' }]);
    });

    it('UsersRedisDegraded: the user-service pod without Redis, and the replica that must flush after missing changes', async () => {
      const samples = await evaluate('UsersRedisDegraded');
      expect(labelsOf(samples, 'pod', 'state')).toEqual([{ pod: 'data-2', state: 'flushing' }, { pod: 'user-1', state: 'down' }]);
    });

    it('UsersNoReadyReplica: quiet while each Deployment has a ready pod, firing once data-service has none', async () => {
      expect(await evaluate('UsersNoReadyReplica')).toEqual([]);
      const available = await prometheus.query(`kube_deployment_status_replicas_available{namespace="${NAMESPACE}"}`, evalTime);
      expect(Object.fromEntries(available.map((s) => [s.metric.deployment, s.value]))).toEqual({ [USER_JOB]: 2, [DATA_JOB]: 2 });

      const stoppedAt = Date.now() / 1000;
      await Promise.all(['data-0', 'data-1'].map((pod) => pods.get(pod)!.service.stop()));
      await waitFor(async () => (await prometheus.query(`timestamp(kube_deployment_spec_replicas{deployment="${DATA_JOB}"})`))[0]!.value > stoppedAt + SCRAPE_SECONDS, 10_000, 100);
      const firing = await prometheus.query(alert('UsersNoReadyReplica').expr);
      expect(labelsOf(firing, 'namespace', 'deployment')).toEqual([{ namespace: NAMESPACE, deployment: DATA_JOB }]);
    });
  });
});

interface Panel {
  type: string;
  title: string;
  repeat?: string;
  fieldConfig?: { defaults: { noValue?: string } };
  targets?: { refId: string; expr: string }[];
}
interface Dashboard {
  templating: { list: { name: string; type: string; definition?: string }[] };
  panels: Panel[];
}

/** Every target of every panel, with the row it sits in. */
function queries(dashboard: Dashboard): { row: Panel | undefined; panel: Panel; refId: string; expr: string }[] {
  let row: Panel | undefined;
  const found = [];
  for (const panel of dashboard.panels) {
    if (panel.type === 'row') row = panel;
    for (const target of panel.targets ?? []) found.push({ row, panel, refId: target.refId, expr: target.expr });
  }
  return found;
}

/** Grafana's substitution in a regex matcher: one value as is, several as (a|b), each escaped. */
function substitute(text: string, variables: Record<string, string[]>): string {
  return text.replace(/\$(\w+)/g, (whole, name: string) => {
    const values = variables[name];
    if (!values) return whole;
    const escaped = values.map((value) => value.replace(/[\\^$*+?.()|[\]{}]/g, '\\\\$&'));
    return escaped.length === 1 ? escaped[0]! : `(${escaped.join('|')})`;
  });
}

/** Grafana's label_values(selector, label) through the same API it uses. */
async function labelValues(definition: string): Promise<string[]> {
  const [, selector, label] = /^label_values\((.+),\s*(\w+)\)$/.exec(definition) ?? [];
  if (!selector || !label) throw new Error(`not a label_values query: ${definition}`);
  const params = new URLSearchParams({ 'match[]': selector });
  const answer = (await (await fetch(`${prometheus.url}/api/v1/label/${label}/values?${params}`)).json()) as { status: string; data: string[] };
  expect(answer.status).toBe('success');
  return answer.data.sort();
}

// What each query must answer, by "<panel title> <refId>"; `job` is the repeated row's service.
type Check = (samples: Sample[], job: string | undefined) => void;

const byLabels = (samples: Sample[], ...keys: string[]) =>
  Object.fromEntries(samples.map((s) => [keys.map((key) => s.metric[key]).join(' '), s.value]));

/** A per-second rate over the window, as the number of events it stands for. */
function expectCounts(samples: Sample[], counts: Record<string, number>, ...keys: string[]) {
  const rates = byLabels(samples, ...keys);
  expect(Object.keys(rates).sort()).toEqual(Object.keys(counts).sort());
  for (const [key, count] of Object.entries(counts)) {
    const seen = rates[key]! * windowSeconds;
    // rate() extrapolates to the window's edges: a little more than what happened, never less.
    expect(seen, key).toBeGreaterThan(count * 0.9);
    expect(seen, key).toBeLessThan(count * 1.5);
  }
}

function expectPerPod(samples: Sample[], job: string | undefined, inRange: (value: number, pod: string) => void) {
  expect(samples.map((s) => s.metric.pod).sort()).toEqual(podsOf(job!));
  for (const sample of samples) inRange(sample.value, sample.metric.pod!);
}

function expectNear(value: number | undefined, target: number, relative = 0.15) {
  expect(value).toBeGreaterThan(target * (1 - relative));
  expect(value).toBeLessThan(target * (1 + relative));
}

function between(low: number, high: number) {
  return (value: number) => {
    expect(value).toBeGreaterThanOrEqual(low);
    expect(value).toBeLessThanOrEqual(high);
  };
}

const answeredReads = expected.localHits + expected.redisHits + expected.databaseReads;

function single(samples: Sample[]): number {
  expect(samples).toHaveLength(1);
  return samples[0]!.value;
}

/**
 * The p99 the traffic makes: writes take milliseconds, except on the user-service pod without
 * Redis, whose first writes wait until one read lease (CACHE_LEASE_MS, 2 s by default) has passed
 * since it first saw Redis fail, so that no replica can still trust its in-process tier;
 * data-service's slowest reads are the 503s of the replica without PostgreSQL, which wait for its
 * reconnect attempts (seconds). Both must land in a finite bucket, not in +Inf.
 */
function slowestPercent(value: number, job: string | undefined) {
  if (isUser(job)) between(0.0005, DEFAULT_LEASE_S + 1)(value);
  else between(0.0005, 10)(value);
}

const isUser = (job: string | undefined) => job === USER_JOB;
const DEFAULT_LEASE_S = commonEnv.shape.CACHE_LEASE_MS.parse(undefined) / 1000;

const dashboardExpectations: Record<string, Check> = {
  'Request rate A': (samples, job) =>
    expectCounts(samples, isUser(job) ? expected.user : expected.data, 'http_route', 'http_response_status_code'),
  'Errors (5xx share of requests) A': (samples, job) => {
    const shares = byLabels(samples, 'http_route');
    if (isUser(job)) expect(shares).toEqual({ '/register': 0 });
    else {
      expect(Object.keys(shares)).toEqual(['/user/:name']);
      expectNear(shares['/user/:name'], DATA_5XX_SHARE);
    }
  },
  'Latency p50 / p99 A': (samples, job) => {
    const p50 = byLabels(samples, 'http_route');
    expect(Object.keys(p50)).toEqual([isUser(job) ? '/register' : '/user/:name']);
    // A median: well below the slowest requests, however loaded the machine is.
    for (const value of Object.values(p50)) between(0, 1)(value);
  },
  'Latency p50 / p99 B': (samples, job) => {
    const p99 = byLabels(samples, 'http_route');
    expect(Object.keys(p99)).toEqual([isUser(job) ? '/register' : '/user/:name']);
    for (const value of Object.values(p99)) slowestPercent(value, job);
  },
  'Event-loop lag p99 A': (samples, job) => expectPerPod(samples, job, between(0, 1)),
  'CPU A': (samples, job) => {
    expectPerPod(samples, job, (value) => expect(value).toBeGreaterThan(0));
  },
  'Memory A': (samples, job) => expectPerPod(samples, job, between(20e6, 4e9)),
  'Memory B': (samples, job) => expectPerPod(samples, job, between(1e6, 4e9)),
  'PostgreSQL pool A': (samples, job) => expectPerPod(samples, job, between(0, POOL_MAX)),
  'PostgreSQL pool B': (samples, job) => expectPerPod(samples, job, (value) => expect(value).toBe(POOL_MAX)),
  'Redis state A': (samples, job) =>
    expect(byLabels(samples, 'state')).toEqual(isUser(job) ? { up: 1, down: 1, flushing: 0 } : { up: 2, down: 0, flushing: 1 }),
  'Versions A': (samples, job) => {
    expect(samples.map((s) => [s.metric.version, s.metric.revision])).toEqual([[version, revision]]);
    expect(samples[0]!.value).toBe(podsOf(job!).length);
  },
  'Share of reads by tier A': (samples) => expectNear(single(samples), expected.localHits / answeredReads),
  'Share of reads by tier B': (samples) => expectNear(single(samples), expected.redisHits / answeredReads),
  'Share of reads by tier C': (samples) => expectNear(single(samples), expected.databaseReads / answeredReads),
  'LISTEN connection A': (samples) => expect(byLabels(samples, 'pod')).toEqual({ 'data-0': 1, 'data-1': 1, 'data-2': 0 }),
  'Evictions, invalidations and Redis errors A': (samples) => expectCounts(samples, { '': expected.missedEvictions }),
  'Evictions, invalidations and Redis errors B': (samples) => expectCounts(samples, { '': expected.invalidations }),
  'Evictions, invalidations and Redis errors C': (samples) => expect(samples.map((s) => s.value)).toEqual([0]),
  // Every register was published well before the evaluation: nothing waits in the outbox.
  'User events: outbox lag and publishing A': (samples) => expect(samples.map((s) => s.value)).toEqual([0]),
  'User events: outbox lag and publishing B': (samples) => expectCounts(samples, { '': expected.user['/register 201']! }),
};

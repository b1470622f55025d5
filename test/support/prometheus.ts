// The real Prometheus and promtool (Debian package `prometheus`), for tests that check what the
// services export and what the chart's rules and dashboard ask of it. `.ci/run` installs the
// package when promtool is missing; elsewhere the tests that need them skip.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { find, render, type RenderOptions } from '../chart/support/helm.ts';
import { freePort } from '../../scripts/free-port.ts';

function onPath(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Why a test needing these tools cannot run here, or undefined when it can. */
export const missingPrometheus: string | undefined = ['prometheus', 'promtool'].every(onPath)
  ? undefined
  : 'needs prometheus and promtool on PATH (Debian package `prometheus`)';

export interface CommandResult {
  status: number;
  output: string;
}

export function promtool(args: string[], input?: string): CommandResult {
  const run = spawnSync('promtool', args, { input, encoding: 'utf8' });
  if (run.error) throw run.error;
  return { status: run.status ?? -1, output: `${run.stdout}${run.stderr}` };
}

/** The chart's PrometheusRule as a Prometheus rule file (its spec: `groups:`), rendered by the real helm. */
export function renderedRuleGroups(chartDir: string, options: RenderOptions = {}): { groups: RuleGroup[] } {
  const objects = render(chartDir, { ...options, set: { 'prometheusRule.enabled': true, ...options.set } });
  return find(objects, 'PrometheusRule', options.release ?? 'users').spec as { groups: RuleGroup[] };
}

export interface RuleGroup {
  name: string;
  rules: { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string> }[];
}


export interface ScrapeTarget {
  /** host:port of the target's metrics endpoint. */
  address: string;
  metricsPath: string;
  /** Target labels, as service discovery would attach them (job, namespace, service, pod). */
  labels: Record<string, string>;
  /** Keep the target's own labels on a clash (kube-state-metrics' namespace, say), as its ServiceMonitor does. */
  honorLabels?: boolean;
}

export interface PrometheusOptions {
  targets: ScrapeTarget[];
  scrapeIntervalSeconds: number;
  ruleFiles?: string[];
}

/** A Prometheus instance of its own: free port, temporary data folder, our config; stopped by stop(). */
export class LocalPrometheus {
  private child: ChildProcess | undefined;
  private dir = '';
  private log = '';
  url = '';

  async start({ targets, scrapeIntervalSeconds, ruleFiles = [] }: PrometheusOptions): Promise<this> {
    this.dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
    const config = {
      global: { scrape_interval: `${scrapeIntervalSeconds}s`, scrape_timeout: `${scrapeIntervalSeconds}s`, evaluation_interval: `${scrapeIntervalSeconds}s` },
      rule_files: ruleFiles,
      scrape_configs: targets.map((target, index) => ({
        job_name: `target-${index}`,
        metrics_path: target.metricsPath,
        honor_labels: target.honorLabels ?? false,
        static_configs: [{ targets: [target.address], labels: target.labels }],
      })),
    };
    // Target labels win over the job_name: job is the Service's name, as the Prometheus Operator sets it.
    writeFileSync(join(this.dir, 'prometheus.yml'), stringify(config));
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    this.child = spawn(
      'prometheus',
      [
        `--config.file=${join(this.dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(this.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout!.on('data', (chunk) => (this.log += chunk));
    this.child.stderr!.on('data', (chunk) => (this.log += chunk));
    const started = Date.now();
    for (;;) {
      const ready = await fetch(`${this.url}/-/ready`).then((r) => r.ok, () => false);
      if (ready) return this;
      if (this.child.exitCode !== null || Date.now() - started > 20_000) throw new Error(`prometheus did not start:\n${this.log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** An instant query; throws with Prometheus' error for a query it rejects. */
  async query(expr: string, time?: number): Promise<Sample[]> {
    const body = new URLSearchParams({ query: expr, ...(time !== undefined && { time: String(time) }) });
    const res = await fetch(`${this.url}/api/v1/query`, { method: 'POST', body });
    const answer = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
    if (answer.status !== 'success') throw new Error(`query rejected: ${answer.error}\n${expr}`);
    const { resultType, result } = answer.data!;
    if (resultType === 'scalar') return [{ metric: {}, value: Number((result as [number, string])[1]) }];
    if (resultType !== 'vector') throw new Error(`unexpected ${resultType} for ${expr}`);
    return (result as { metric: Record<string, string>; value: [number, string] }[]).map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
  }

  /** The scrape targets' health, keyed by job. */
  async targetHealth(): Promise<{ job: string; health: string; lastError: string }[]> {
    const answer = (await (await fetch(`${this.url}/api/v1/targets`)).json()) as {
      data: { activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] };
    };
    return answer.data.activeTargets.map((t) => ({ job: t.labels.job!, health: t.health, lastError: t.lastError }));
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null) {
      const exited = once(this.child, 'exit');
      this.child.kill('SIGTERM');
      await exited;
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

// The chart's PrometheusRule, rendered by the real helm and checked by the real promtool: the
// rules parse (`promtool check rules`) and fire exactly when they should on the series of
// alerts/prometheusrule.tests.yaml (`promtool test rules`).
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { missingPrometheus, promtool, renderedRuleGroups } from '../support/prometheus.ts';
import { helm, ofKind, render, renderableChart, templateArgs, type RenderableChart } from './support/helm.ts';
import { validateObject } from './support/validate.ts';

let chart: RenderableChart;
let scratch: string;
beforeAll(() => {
  chart = renderableChart();
  scratch = mkdtempSync(join(tmpdir(), 'users-rules-'));
});
afterAll(() => {
  chart?.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

const ALERTS = ['UsersErrorBudgetBurnFast', 'UsersErrorBudgetBurnSlow', 'UsersLatencyP99High', 'UsersCacheListenerDown', 'UsersRedisDegraded', 'UsersEventsLagging', 'UsersNoReadyReplica'];

describe('PrometheusRule', () => {
  it('is not rendered unless prometheusRule.enabled', () => {
    expect(ofKind(render(chart.dir), 'PrometheusRule')).toEqual([]);
  });

  it('has the alerts of the README, each with a severity and a runbook note in helm/README.md', () => {
    const { groups } = renderedRuleGroups(chart.dir);
    const rules = groups.flatMap((group) => group.rules);
    expect(rules.map((rule) => rule.alert)).toEqual(ALERTS);
    const readme = readFileSync(join(chart.dir, 'README.md'), 'utf8');
    for (const rule of rules) {
      expect(['critical', 'warning']).toContain(rule.labels?.severity);
      expect(readme, `runbook for ${rule.alert}`).toMatch(new RegExp(`^#### ${rule.alert}$`, 'm'));
    }
  });

  it('is a PrometheusRule the operator keeps whole, and a misspelled field would be caught', async () => {
    const [rule] = ofKind(render(chart.dir, { set: { 'prometheusRule.enabled': true } }), 'PrometheusRule');
    await validateObject(rule!);
    const misspelled = structuredClone(rule!) as any;
    misspelled.spec.groups[0].rules[0].fore = misspelled.spec.groups[0].rules[0].for;
    delete misspelled.spec.groups[0].rules[0].for;
    await expect(validateObject(misspelled)).rejects.toThrow(/unknown field fore/);
  });

  it('takes its thresholds from values', () => {
    const values = join(scratch, 'thresholds.yaml');
    writeFileSync(values, stringify({ prometheusRule: { availabilityObjective: 0.995, latencyP99Seconds: 1.5, latencyFor: '20m' } }));
    const rules = renderedRuleGroups(chart.dir, { valuesFiles: [values] }).groups.flatMap((group) => group.rules);
    const byName = new Map(rules.map((rule) => [rule.alert, rule]));
    expect(byName.get('UsersErrorBudgetBurnFast')!.expr).toContain('> 14.4 * (1 - 0.995)');
    expect(byName.get('UsersLatencyP99High')!.expr).toMatch(/\) > 1\.5\s*$/);
    expect(byName.get('UsersLatencyP99High')!.for).toBe('20m');
  });

  it.each([
    ['an objective of 1 (no error budget)', { availabilityObjective: 1 }, /availabilityObjective/],
    ['an objective given as a percentage', { availabilityObjective: 99.9 }, /availabilityObjective/],
    ['a duration Prometheus cannot read', { latencyFor: '10 minutes' }, /latencyFor/],
    ['a misspelled key', { latencyP99: 0.5 }, /latencyP99/],
  ])('values.schema.json rejects %s', (_case, prometheusRule, message) => {
    const values = join(scratch, `invalid-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(values, stringify({ prometheusRule: { enabled: true, ...prometheusRule } }));
    const result = helm(templateArgs(chart.dir, { valuesFiles: [values] }));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });

  describe.skipIf(missingPrometheus)(`promtool${missingPrometheus ? ` (skipped: ${missingPrometheus})` : ''}`, () => {
    it('check rules accepts the rendered rule file', () => {
      const file = join(scratch, 'check.yaml');
      writeFileSync(file, stringify(renderedRuleGroups(chart.dir)));
      const result = promtool(['check', 'rules', file]);
      expect(result.output).toContain(`SUCCESS: ${ALERTS.length} rules found`);
      expect(result.status).toBe(0);
    });

    it('test rules: every alert fires on its failure and stays quiet otherwise', () => {
      writeFileSync(join(scratch, 'rules.yaml'), stringify(renderedRuleGroups(chart.dir)));
      copyFileSync(join(import.meta.dirname, 'alerts/prometheusrule.tests.yaml'), join(scratch, 'prometheusrule.tests.yaml'));
      const result = promtool(['test', 'rules', join(scratch, 'prometheusrule.tests.yaml')]);
      expect(result.output).toContain('SUCCESS');
      expect(result.status).toBe(0);
    });
  });
});

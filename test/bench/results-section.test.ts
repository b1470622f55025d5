import { describe, expect, it } from 'vitest';
import { appendRuns, keptRealistic, spliceRealistic } from '../../bench/realistic/report.ts';
import { appendBenchRun, BENCH_RUNS_END, BENCH_RUNS_START } from '../../bench/report.ts';

const section = (text: string) =>
  `<!-- realistic-workload: written by \`npm run bench:realistic\`; \`npm run bench\` keeps it -->\n## Realistic workload\n\n${text}\n<!-- /realistic-workload -->\n`;

describe('the realistic section of bench/RESULTS.md', () => {
  it('is appended after the main report, then replaced in place', () => {
    const once = spliceRealistic('# Benchmark results\n\n| table |\n', section('first'));
    expect(once).toBe(`# Benchmark results\n\n| table |\n\n${section('first')}`);
    const twice = spliceRealistic(once, section('second'));
    expect(twice).toBe(`# Benchmark results\n\n| table |\n\n${section('second')}`);
  });

  it('survives a rewrite of the main report and is absent when never written', () => {
    const file = spliceRealistic('# old report\n', section('kept'));
    expect(`# new report\n${keptRealistic(file)}`).toBe(`# new report\n\n${section('kept')}`);
    expect(keptRealistic('# report without it\n')).toBe('');
  });
});

describe('the every-run table of bench/RESULTS.md', () => {
  it('is made on the first run and keeps every earlier row when later runs append theirs', () => {
    const first = appendRuns('# Benchmark results\n', ['| run 1 |']);
    expect(first.startsWith('# Benchmark results\n\n<!-- realistic runs')).toBe(true);
    const second = appendRuns(first, ['| run 2 a |', '| run 2 b |']);
    const rows = second.split('\n').filter((line) => line.startsWith('| run'));
    expect(rows).toEqual(['| run 1 |', '| run 2 a |', '| run 2 b |']);
    expect(second.trimEnd().endsWith('<!-- /realistic runs -->')).toBe(true);
  });
});

describe('the every-run table of `npm run bench`', () => {
  it('is made on the first run and keeps every earlier row when later runs append theirs', () => {
    const first = appendBenchRun('# Benchmark results\n', '| run 1 |');
    expect(first.startsWith(`# Benchmark results\n\n${BENCH_RUNS_START}`)).toBe(true);
    const second = appendBenchRun(first, '| run 2 |');
    expect(second.split('\n').filter((line) => line.startsWith('| run'))).toEqual(['| run 1 |', '| run 2 |']);
    expect(second.trimEnd().endsWith(BENCH_RUNS_END)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { keptRealistic, spliceRealistic } from '../../bench/realistic/report.ts';

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

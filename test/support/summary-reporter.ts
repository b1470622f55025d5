import type { Reporter, TestModule } from 'vitest/node';

/** Ends the run with one plain line, `tests: N passed, N failed, N skipped`, that any CI can read. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    // Why tests skipped (ctx.skip(note)), one line per reason.
    const skipNotes = new Map<string, number>();
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state === 'passed' || result.state === 'failed' || result.state === 'skipped') counts[result.state]++;
        if (result.state === 'skipped' && result.note) skipNotes.set(result.note, (skipNotes.get(result.note) ?? 0) + 1);
      }
      // A file that failed to load has no tests to count, but it failed.
      if (module.state() === 'failed' && ![...module.children.allTests()].length) counts.failed++;
    }
    counts.failed += unhandledErrors.length;
    for (const [note, count] of skipNotes) process.stdout.write(`\n${count} tests ${note}`);
    process.stdout.write(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}

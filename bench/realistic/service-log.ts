import { readFileSync } from 'node:fs';

const NOTABLE = new Set(['warn', 'error', 'fatal']);

/**
 * Warnings and errors a service logged during the run, counted by message: they say what the
 * service itself saw (Redis timeouts, lost LISTEN connections) while the numbers were taken.
 */
export function notableLogLines(logFile: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const { level, msg } = JSON.parse(line) as { level?: unknown; msg?: unknown };
      if (typeof level === 'string' && NOTABLE.has(level)) counts[`${level}: ${String(msg)}`] = (counts[`${level}: ${String(msg)}`] ?? 0) + 1;
    } catch {
      // Not a log line of ours (a runtime warning); only the structured lines are counted.
    }
  }
  return counts;
}

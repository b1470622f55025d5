// Reads a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time,
// optionally only over a window of the run (the profile's timestamps are the monotonic clock in
// µs, the one `process.hrtime` reads, so another process on the machine can mark the window).
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface TopEntries {
  totalUs: number;
  busyUs: number;
  /** function and place, and its share of the busy time, most first */
  entries: { fn: string; where: string; share: number }[];
}

/** Microseconds on the clock the profile's timestamps use. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

export function topEntries(file: string, limit: number, window?: { fromUs: number; toUs: number }): TopEntries {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<string, number>();
  let totalUs = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    const frame = byId.get(id)!.callFrame;
    const where = frame.url ? `${frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(dist|bench)\//, '$1/')}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'}\t${where}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + delta);
    totalUs += delta;
  });
  const busyUs = totalUs - (selfUs.get('(idle)\t') ?? 0);
  const entries = [...selfUs]
    .filter(([key]) => !key.startsWith('(idle)\t'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([key, us]) => {
      const [fn = '', where = ''] = key.split('\t');
      return { fn, where, share: us / busyUs };
    });
  return { totalUs, busyUs, entries };
}

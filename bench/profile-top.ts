// Summarizes a V8 .cpuprofile (from `node --cpu-prof`, or BENCH_CPU_PROF=dir npm run bench):
// the functions with the most self time. Usage: node bench/profile-top.ts FILE [N]
import { topEntries } from './cpu-profile.ts';

const [file, limit = '25'] = process.argv.slice(2);
const { totalUs, busyUs, entries } = topEntries(file!, Number(limit));
process.stdout.write(`total ${(totalUs / 1e6).toFixed(1)} s, busy ${(busyUs / 1e6).toFixed(1)} s\n`);
for (const { fn, where, share } of entries) process.stdout.write(`${(100 * share).toFixed(1).padStart(5)}%  ${fn} ${where}\n`);

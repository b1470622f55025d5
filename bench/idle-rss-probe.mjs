// Loaded into a service by `npm run bench:rss` (node --import): on SIGUSR2 it writes the V8 heap
// figures to stdout, so the benchmark can split RSS into heap and the rest without changing the service.
import { getHeapSpaceStatistics } from 'node:v8';

const mb = (bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10;
process.on('SIGUSR2', () => {
  const { heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { size: mb(s.space_size), used: mb(s.space_used_size) }]));
  process.stdout.write(`IDLE_RSS_PROBE ${JSON.stringify({ heapUsedMb: mb(heapUsed), heapTotalMb: mb(heapTotal), externalMb: mb(external), arrayBuffersMb: mb(arrayBuffers), spaces })}\n`);
});

// Loaded into each data-service replica with `node --import` by the realistic benchmark only:
// watches every lru-cache instance the process makes (the in-process tier is one) and keeps the
// peak entry count and peak size by the tier's own size calculation in a JSON file, so the
// benchmark can check the tier against its configured bounds without a change to the service.
// Plain JavaScript: a .ts file here would load Node's TypeScript stripper into the measured
// process and add to its RSS.
import { writeFileSync } from 'node:fs';
import { LRUCache } from 'lru-cache';

const file = process.env.BENCH_LOCAL_TIER_FILE;
if (file) {
  const seen = new Set();
  const peaks = new Map();
  const set = LRUCache.prototype.set;
  LRUCache.prototype.set = function (...args) {
    seen.add(this);
    return set.apply(this, args);
  };

  const sample = () => {
    const report = [];
    for (const lru of seen) {
      const peak = peaks.get(lru) ?? { entries: 0, size: 0 };
      peak.entries = Math.max(peak.entries, lru.size);
      peak.size = Math.max(peak.size, lru.calculatedSize ?? 0);
      peaks.set(lru, peak);
      report.push({ maxEntries: lru.max, maxSize: lru.maxSize, peakEntries: peak.entries, peakSize: peak.size });
    }
    writeFileSync(file, JSON.stringify(report));
  };
  setInterval(sample, 100).unref();
  process.once('beforeExit', sample);
}

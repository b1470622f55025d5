import { describe, expect, it } from 'vitest';
import { seededRandom, zipfProbability, zipfSampler } from '../../bench/realistic/zipf.ts';

describe('zipfSampler', () => {
  it('draws ranks with the frequencies P(k) ∝ 1/k^s', () => {
    for (const s of [1, 0.8, 1.2]) {
      const n = 50;
      const draw = zipfSampler(n, s, seededRandom(7));
      const draws = 200_000;
      const counts = new Array<number>(n + 1).fill(0);
      for (let i = 0; i < draws; i++) counts[draw()]!++;
      expect(counts[0]).toBe(0);
      // Pearson's chi-square over the 50 ranks; 49 degrees of freedom, 99.9% quantile ≈ 85.4.
      let chiSquare = 0;
      for (let k = 1; k <= n; k++) {
        const expected = draws * zipfProbability(n, s, k);
        chiSquare += (counts[k]! - expected) ** 2 / expected;
      }
      expect(chiSquare).toBeLessThan(85.4);
    }
  });

  it('stays within 1…n for a large n and puts the expected weight on rank 1', () => {
    const n = 10_000_000;
    const draw = zipfSampler(n, 1, seededRandom(11));
    let first = 0;
    let max = 0;
    let outOfRange = 0;
    for (let i = 0; i < 100_000; i++) {
      const k = draw();
      if (!Number.isInteger(k) || k < 1 || k > n) outOfRange++;
      if (k === 1) first++;
      max = Math.max(max, k);
    }
    expect(outOfRange).toBe(0);
    // P(1) = 1/H(10^7) ≈ 0.0593; the tail reaches far beyond the first thousand ranks.
    expect(first / 100_000).toBeGreaterThan(0.055);
    expect(first / 100_000).toBeLessThan(0.064);
    expect(max).toBeGreaterThan(1_000_000);
  });

  it('repeats itself for the same seed and rejects a bad n or s', () => {
    const a = zipfSampler(1000, 1, seededRandom(3));
    const b = zipfSampler(1000, 1, seededRandom(3));
    expect(Array.from({ length: 20 }, a)).toEqual(Array.from({ length: 20 }, b));
    expect(() => zipfSampler(0, 1, Math.random)).toThrow(/n must be/);
    expect(() => zipfSampler(10, 0, Math.random)).toThrow(/s must be/);
  });
});

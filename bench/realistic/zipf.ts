// Names drawn the way real traffic asks for them: a few very popular, a long tail asked rarely.

/** A small seeded generator (mulberry32), so two runs with the same seed ask the same names. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Ranks 1…n with P(k) ∝ 1/k^s, by rejection-inversion (Hörmann and Derflinger, 1996): constant
 * time and memory per draw whatever n, where a table of cumulative weights for 10,000,000 users
 * would cost 80 MB in the load generator and seconds to build.
 */
export function zipfSampler(n: number, s: number, random: () => number): () => number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`zipf: n must be a positive integer, got ${n}`);
  if (!(s > 0)) throw new Error(`zipf: s must be positive, got ${s}`);
  const h = (x: number) => Math.exp(-s * Math.log(x));
  // ∫h: (x^(1-s) - 1)/(1-s), written to stay exact as s → 1 (where it is log x).
  const hIntegral = (x: number) => {
    const logX = Math.log(x);
    return expm1Over((1 - s) * logX) * logX;
  };
  const hIntegralInverse = (x: number) => {
    const t = Math.max(-1, x * (1 - s));
    return Math.exp(log1pOver(t) * x);
  };
  const hIntegralX1 = hIntegral(1.5) - 1;
  const hIntegralN = hIntegral(n + 0.5);
  const squeeze = 2 - hIntegralInverse(hIntegral(2.5) - h(2));

  return () => {
    for (;;) {
      const u = hIntegralN + random() * (hIntegralX1 - hIntegralN);
      const x = hIntegralInverse(u);
      const k = Math.min(n, Math.max(1, Math.round(x)));
      if (k - x <= squeeze || u >= hIntegral(k + 0.5) - h(k)) return k;
    }
  };
}

/** log(1+x)/x, accurate near 0. */
function log1pOver(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - 0.25 * x));
}

/** (e^x - 1)/x, accurate near 0. */
function expm1Over(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + (x / 3) * (1 + 0.25 * x));
}

/** The exact probability of rank k: what a sample's frequencies are checked against. */
export function zipfProbability(n: number, s: number, k: number): number {
  let norm = 0;
  for (let i = 1; i <= n; i++) norm += 1 / i ** s;
  return 1 / k ** s / norm;
}

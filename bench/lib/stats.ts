/**
 * Pure statistics for the benchmarks: percentiles over latency samples, summaries, medians across rounds and the
 * ratios the report quotes against the bare proxy. No timing or I/O here, so every figure's arithmetic is unit-tested.
 */

export interface Summary {
  readonly count: number;
  readonly mean: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * The p-th percentile (0..100) of ascending `sorted`, interpolating linearly between the two nearest ranks
 * (the common "R-7" definition, as numpy's default), so small samples do not jump from one value to the next.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (rank - lo);
}

/** Count, mean, min, p50, p90, p99 and max of `values` (any order; the input is not modified). */
export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const n = sorted.length;
  return {
    count: n,
    mean: n === 0 ? Number.NaN : sum / n,
    min: n === 0 ? Number.NaN : sorted[0]!,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: n === 0 ? Number.NaN : sorted[n - 1]!,
  };
}

/** Median of a few per-round figures: one noisy round cannot move it the way it moves a mean. */
export function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  return percentile(Float64Array.from(finite).sort(), 50);
}

/** `value / base`, or NaN when either is missing or the base is zero (shown as "n/a", never as Infinity). */
export function ratio(value: number, base: number): number {
  if (!Number.isFinite(value) || !Number.isFinite(base) || base === 0) return Number.NaN;
  return value / base;
}

/** Share (0..1) of `part` in `whole`; NaN for an empty whole. */
export function share(part: number, whole: number): number {
  return whole > 0 ? part / whole : Number.NaN;
}

/**
 * A growable sample buffer: load runs record tens of thousands of latencies, and a Float64Array that doubles avoids
 * boxing every number in a JS array while the load generator is on the clock.
 */
export class Samples {
  private buf = new Float64Array(1024);
  private n = 0;

  push(v: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = v;
  }

  get length(): number {
    return this.n;
  }

  values(): Float64Array {
    return this.buf.subarray(0, this.n);
  }
}

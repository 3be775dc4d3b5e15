// Percentiles, summaries and ratios behind every figure in the bench report.
import { describe, expect, it } from "vitest";
import { median, percentile, ratio, Samples, share, summarize } from "../lib/stats";

describe("percentile", () => {
  it("interpolates between the nearest ranks like numpy's default", () => {
    const sorted = [1, 2, 3, 4];
    // numpy.percentile([1,2,3,4], [0, 50, 90, 99, 100]) -> 1, 2.5, 3.7, 3.97, 4
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile(sorted, 50)).toBe(2.5);
    expect(percentile(sorted, 90)).toBeCloseTo(3.7, 10);
    expect(percentile(sorted, 99)).toBeCloseTo(3.97, 10);
    expect(percentile(sorted, 100)).toBe(4);
  });

  it("returns the only value of a one-sample set and NaN for an empty one", () => {
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it("rejects a percentile outside 0..100", () => {
    expect(() => percentile([1, 2], 101)).toThrow(/0\.\.100/);
    expect(() => percentile([1, 2], -1)).toThrow(/0\.\.100/);
  });
});

describe("summarize", () => {
  it("sorts a copy and reports count, mean, extremes and percentiles", () => {
    const input = [5, 1, 4, 2, 3];
    const s = summarize(input);
    expect(s).toEqual({ count: 5, mean: 3, min: 1, p50: 3, p90: 4.6, p99: expect.closeTo(4.96, 10) as number, max: 5 });
    expect(input).toEqual([5, 1, 4, 2, 3]);
  });

  it("reports NaN figures for no samples instead of zeros that look like measurements", () => {
    const s = summarize([]);
    expect(s.count).toBe(0);
    expect(s.p50).toBeNaN();
    expect(s.mean).toBeNaN();
  });

  it("takes a sample buffer's values after it grew past its first allocation", () => {
    const buf = new Samples();
    for (let i = 3000; i >= 1; i--) buf.push(i);
    expect(buf.length).toBe(3000);
    const s = summarize(buf.values());
    expect(s.min).toBe(1);
    expect(s.max).toBe(3000);
    expect(s.p50).toBe(1500.5);
  });
});

describe("median, ratio and share", () => {
  it("takes the middle round and ignores rounds that produced no figure", () => {
    expect(median([3, 1, 100])).toBe(3);
    expect(median([2, Number.NaN, 4])).toBe(3);
  });

  it("divides by the bare proxy's figure and refuses a zero or missing base", () => {
    expect(ratio(110, 100)).toBeCloseTo(1.1, 10);
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(Number.NaN, 1)).toBeNaN();
    expect(share(1, 4)).toBe(0.25);
    expect(share(0, 0)).toBeNaN();
  });
});

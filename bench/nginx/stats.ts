// The arithmetic of bench:nginx: medians, per-round ratios, targets.

/** The median; the mean of the two middle values for an even count; NaN for none. */
export function median(xs: readonly number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const h = v.length >> 1;
  return v.length % 2 === 1 ? v[h] : (v[h - 1] + v[h]) / 2;
}

/** a[i] / b[i] for each round both sides ran (a missing or zero b gives no ratio). */
export function roundRatios(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (Number.isFinite(a[i]) && Number.isFinite(b[i]) && b[i] > 0) out.push(a[i] / b[i]);
  }
  return out;
}

/** The median of the per-round ratios a/b: drift on the machine between rounds cancels out. */
export function medianOfRatios(a: readonly number[], b: readonly number[]): number {
  return median(roundRatios(a, b));
}

/** A target on a ratio: `>=` for throughput (higher is better), `<=` for latency. */
export interface Target { op: '>=' | '<='; value: number }

/** Whether a ratio meets its target; null when there is no ratio or no target. */
export function meets(ratio: number, target: Target | null): boolean | null {
  if (target === null || !Number.isFinite(ratio)) return null;
  return target.op === '>=' ? ratio >= target.value : ratio <= target.value;
}

/**
 * Sticky A/B split for /api/chat. A client's variant is a pure function of its id, the experiment's variant names
 * and the weights: the same client lands in the same variant in every isolate, with no state. The hash comes in as
 * a parameter so tests can pin it.
 */
import type { Experiment, Target } from "./contract/routing";

export type UnitHash = (input: string) => Promise<number>;

/** "default" when ROUTING declares no experiment. */
export const DEFAULT_VARIANT = "default";

/**
 * Variants own consecutive slices of [0,1) in declaration order, sized by weight. The hash is salted with the
 * variant names, so declaring a different experiment reshuffles clients, while changing weights only moves the
 * clients between the slice boundaries (a ramp from 10% to 20% keeps the first 10% where they were).
 */
export async function chooseVariant(
  clientId: string,
  experiments: readonly Experiment[],
  unitHash: UnitHash,
): Promise<Experiment | undefined> {
  const total = experiments.reduce((sum, e) => sum + e.weight, 0);
  if (total === 0) return undefined;
  const salt = experiments.map((e) => e.name).join(",");
  const point = (await unitHash(`${salt}\n${clientId}`)) * total;
  let edge = 0;
  let last: Experiment | undefined;
  for (const e of experiments) {
    if (e.weight === 0) continue;
    edge += e.weight;
    last = e;
    if (point < edge) return e;
  }
  return last;
}

/** The variant's target first, then the declared fallback chain without repeating it. */
export function attemptOrder(first: Target | undefined, fallback: readonly Target[]): Target[] {
  const order = first ? [first] : [];
  for (const t of fallback) if (!order.some((o) => o.provider === t.provider && o.model === t.model)) order.push(t);
  return order;
}

/**
 * Alert state between scheduled runs: which rules are firing, and how many runs in a row the analytics API failed.
 * Kept as one JSON document behind a two-method store, which a KV namespace satisfies as is and tests can replace
 * with the in-memory store below.
 */
import type { RuleId } from "../contract/alerts";

/** The part of KVNamespace the evaluator uses. */
export interface StateStore {
  get(key: string): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
}

export interface RuleState {
  firing: boolean;
  /** When the rule started firing (ISO). */
  since: string;
}

export interface AlertsState {
  rules: Partial<Record<RuleId, RuleState>>;
  analytics: {
    /** Consecutive runs in which at least one analytics query failed. */
    failures: number;
    /** The failure was reported to the destinations and awaits its recovery note. */
    reported: boolean;
    /** First failing run of the current streak (ISO). */
    since?: string;
    lastReason?: string;
  };
}

export const STATE_KEY = "alerts:state:v1";

export function emptyState(): AlertsState {
  return { rules: {}, analytics: { failures: 0, reported: false } };
}

/** Reads the state; a missing or unreadable document starts afresh rather than stopping the alerts. */
export async function loadState(store: StateStore): Promise<AlertsState> {
  const raw = await store.get(STATE_KEY);
  if (!raw) return emptyState();
  try {
    const s = JSON.parse(raw) as Partial<AlertsState>;
    if (typeof s !== "object" || s === null || typeof s.rules !== "object" || typeof s.analytics !== "object") return emptyState();
    return { rules: s.rules ?? {}, analytics: { ...emptyState().analytics, ...s.analytics } };
  } catch {
    return emptyState();
  }
}

export async function saveState(store: StateStore, state: AlertsState): Promise<void> {
  await store.put(STATE_KEY, JSON.stringify(state));
}

/** A store in memory, for tests and local runs without KV. */
export class MemoryStateStore implements StateStore {
  readonly data = new Map<string, string>();

  async get(key: string): Promise<string | null> {
    return this.data.get(key) ?? null;
  }

  async put(key: string, value: string): Promise<void> {
    this.data.set(key, value);
  }
}

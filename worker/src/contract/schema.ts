/**
 * How the contract's schemas are written and read. Every json binding (ROUTING, CLIENTS, ALERTS) and the stack
 * config are valibot schemas built from these pieces, so one definition gives the TypeScript type, the defaults, the
 * JSON Schema and the validation; `parseWith` turns valibot's first issue into the one error type, ContractError,
 * which names the bad value by its path ("chat.fallback[0].model") and says what is wrong with it.
 */
import * as v from "valibot";

/** A value that does not fit the contract: where (`path`, "" for the value itself) and what is wrong. */
export class ContractError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
    /** The offending value as JSON ("nothing" when it is missing); undefined when the problem is not one value. */
    readonly received?: string,
  ) {
    super(`${path || "(root)"} ${problem}`);
    this.name = "ContractError";
  }

  /** The problem under a name for the whole value: at("ROUTING") gives "ROUTING.chat.maxTokens must be ...". */
  at(prefix: string): string {
    return `${joinPath(prefix, this.path)} ${this.problem}`;
  }
}

/** "a" + "b.c" is "a.b.c", "a" + "[0]" is "a[0]"; either side may be empty. */
export function joinPath(prefix: string, path: string): string {
  if (!path) return prefix;
  if (!prefix) return path;
  return path.startsWith("[") ? `${prefix}${path}` : `${prefix}.${path}`;
}

type Key = string | number;

function keysOf(issue: v.BaseIssue<unknown>): Key[] {
  return (issue.path ?? []).map((p) => p.key as Key);
}

/**
 * "chat.fallback[0].model": names dotted, list indexes bracketed, and record keys that are not plain names (a price
 * key like "anthropic/claude-haiku-4-5") bracketed and quoted, so the path still reads as one.
 */
function pathText(keys: readonly Key[]): string {
  return keys.reduce<string>((out, k) => {
    if (typeof k === "number") return `${out}[${k}]`;
    if (!/^[A-Za-z_$][\w$]*$/.test(k)) return `${out}[${JSON.stringify(k)}]`;
    return out ? `${out}.${k}` : k;
  }, "");
}

/** Marks an issue whose problem is not one value (a cross-field rule): no "got" is shown for it. */
const NO_VALUE = "";

function shown(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const isUnknownKey = (issue: v.BaseIssue<unknown>) => issue.type === "strict_object" && issue.expected === "never";

/**
 * Validates `input` against `schema`; throws ContractError for the first problem. An unknown key wins over the
 * problems inside the object holding it, so a misspelt key is reported as such, not as the missing key it replaced.
 */
export function parseWith<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const first = result.issues[0];
  const firstKeys = keysOf(first);
  const unknown = result.issues.find((i) => {
    if (!isUnknownKey(i)) return false;
    const parent = keysOf(i).slice(0, -1);
    return parent.every((k, n) => firstKeys[n] === k);
  });
  const issue = unknown ?? first;
  const received = isUnknownKey(issue) || issue.received === NO_VALUE ? undefined : shown(issue.input);
  throw new ContractError(pathText(keysOf(issue)), issue.message, received);
}

/** The first problem `schema` finds with `input`, or undefined: what a missing key is told. */
function problemWith(schema: v.GenericSchema, input: unknown): string | undefined {
  const r = v.safeParse(schema, input);
  return r.success ? undefined : r.issues[0].message;
}

export interface ObjectOptions {
  /** What a missing required key is told (default: what its schema says about nothing). */
  missing?: Readonly<Record<string, string>>;
  /** What an unknown key is told (default: the keys that are known). */
  unknown?: string;
}

/** The message of an object schema over `entries`: not an object, a missing key, or an unknown key. */
export function objectMessage(entries: v.ObjectEntries, options: ObjectOptions = {}) {
  const known = Object.keys(entries);
  return (issue: v.BaseIssue<unknown>): string => {
    if (issue.expected === "never") return options.unknown ?? `is not a known field (expected one of: ${known.join(", ")})`;
    const key = issue.path?.[issue.path.length - 1]?.key;
    if (typeof key === "string" && issue.expected === `"${key}"`) {
      return options.missing?.[key] ?? problemWith(entries[key]!, undefined) ?? "is required";
    }
    return "must be an object";
  };
}

const isRecord = (x: unknown) => typeof x === "object" && x !== null && !Array.isArray(x);

/** An object (not a list) with exactly these keys; missing and unknown keys are reported at their own path. */
export function object<const E extends v.ObjectEntries>(entries: E, options: ObjectOptions = {}) {
  const schema = v.strictObject(entries, objectMessage(entries, options));
  // valibot's object schemas take a list as an object; a list where an object belongs is a mistake to name.
  return v.pipe(v.custom<v.InferInput<typeof schema>>(isRecord, "must be an object"), schema);
}

export function list<const T extends v.GenericSchema>(item: T) {
  return v.array(item, "must be a list");
}

export function int(min: number, max: number) {
  const m = `must be a whole number from ${min} to ${max}`;
  return v.pipe(v.number(m), v.integer(m), v.minValue(min, m), v.maxValue(max, m));
}

export function num(min: number, max: number) {
  // v.number refuses NaN, the bounds refuse the infinities.
  const m = `must be a number from ${min} to ${max}`;
  return v.pipe(v.number(m), v.minValue(min, m), v.maxValue(max, m));
}

export function bool() {
  return v.boolean("must be true or false");
}

export function text() {
  const m = "must be a non-empty string";
  return v.pipe(v.string(m), v.regex(/\S/, m));
}

/** A string matching `pattern`; `what` completes "must be ...". */
export function matching(pattern: RegExp, what: string) {
  const m = `must be ${what}`;
  return v.pipe(v.string(m), v.regex(pattern, m));
}

export function oneOf<const T extends readonly (string | number)[]>(choices: T) {
  return v.picklist(choices, `must be one of: ${choices.join(", ")}`);
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === "https:" || u.protocol === "http:";
  } catch {
    return false;
  }
}

export function httpUrl() {
  return v.pipe(text(), v.check(isHttpUrl, "must be an http(s) URL"));
}

/** Reports a problem at `keys` below the checked value; `input` is the value to show, when there is one. */
export type Fail = (keys: readonly Key[], problem: string, input?: unknown) => void;

/**
 * `schema` with a rule across fields of its already well-formed value (a model must be listed, totalMs at least
 * attemptMs); each problem is reported at the path it names, relative to the value.
 */
export function refine<const S extends v.GenericSchema>(schema: S, check: (value: v.InferOutput<S>, fail: Fail) => void) {
  const action = v.rawCheck<v.InferOutput<S>>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    check(dataset.value, (keys, problem, ...input) => {
      const path = keys.map((key) => ({ type: "object", origin: "value", input: dataset.value, key, value: undefined }));
      addIssue({
        message: problem,
        ...(path.length > 0 ? { path: path as unknown as [v.IssuePathItem, ...v.IssuePathItem[]] } : {}),
        ...(input.length > 0 ? { input: input[0] } : { received: NO_VALUE }),
      });
    });
  });
  return v.pipe(schema, action);
}

/** The index of the first entry of `items` whose `keyOf` repeats an earlier one, if any. */
export function firstRepeat<T>(items: readonly T[], keyOf: (item: T) => unknown): number | undefined {
  const seen = new Set<unknown>();
  for (let i = 0; i < items.length; i++) {
    const k = keyOf(items[i]!);
    if (seen.has(k)) return i;
    seen.add(k);
  }
  return undefined;
}

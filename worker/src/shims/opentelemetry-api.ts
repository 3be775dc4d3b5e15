/**
 * Stands in for `@opentelemetry/api` in the Worker bundle (wrangler.jsonc `alias`). The Anthropic SDK imports the
 * OpenTelemetry API unconditionally, but the Worker builds its client with `openTelemetry: false`, so no span is
 * ever started; this no-op keeps ~6 KiB gzip out of the bundle. A future SDK that needs more of the API fails the
 * build ("No matching export"), never silently at run time.
 */
type Fn = (...args: unknown[]) => unknown;

export const context = {
  active: (): object => ({}),
  with: (_ctx: unknown, fn: Fn, thisArg?: unknown, ...args: unknown[]): unknown => fn.apply(thisArg, args),
};

export const trace = {
  setSpan: (ctx: object): object => ctx,
  getTracerProvider: () => ({ getTracer: (): undefined => undefined }),
  isSpanContextValid: (): boolean => false,
};

export const propagation = {
  fields: (): string[] => [],
  inject: (): void => {},
};

export const SpanKind = { INTERNAL: 0, SERVER: 1, CLIENT: 2, PRODUCER: 3, CONSUMER: 4 } as const;
export const SpanStatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

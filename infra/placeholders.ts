/**
 * Sample values that must never reach Cloudflare. The committed stacks are runnable samples: the offline plan and the
 * tests run them under the SDK mocks. A real `pulumi preview` or `pulumi up` of a stack that still holds one stops
 * before any resource is declared, with one message naming every key to set, instead of failing half way (Cloudflare
 * sends a test POST to a webhook destination when it creates one, so a placeholder webhook host stops `pulumi up`
 * after the resources before it were created).
 *
 * Offline runs opt in explicitly: infra/testing/harness.ts sets the config key `allowPlaceholders`, which a stack file
 * must never set. `pulumi.runtime.isDryRun()` cannot tell the two apart, since a real preview is a dry run too.
 */
import { patternHost } from "./stack-schema";

/** Domains reserved for examples and testing (RFC 2606, RFC 6761): nothing real answers under them. */
const RESERVED_DOMAINS = ["example.com", "example.net", "example.org"];
const RESERVED_TLDS = ["example", "test", "invalid", "localhost"];

/** Account ids the samples and docs use: the committed stacks' and the docs' 0123…cdef. */
export const SAMPLE_ACCOUNT_IDS = ["5c1f0a9e3b7d4e2c8a6f1d0b9e8c7a64", "0123456789abcdef0123456789abcdef"];

export interface Placeholder {
  /** The config key, unqualified, with its path: `routes.customDomains[0].hostname`. */
  key: string;
  value: string;
  why: string;
}

/** The plain settings a placeholder can hide in: infra/config.ts's Settings (validateSettings) fits it as is. */
export interface PlaceholderInput {
  accountId: string;
  routes: {
    workersDev: boolean;
    workersDevSubdomain?: string;
    customDomains: readonly { hostname: string; zone: string }[];
    zoneRoutes: readonly { pattern: string; zone: string }[];
  };
  routing: { cors: { allowOrigins: readonly string[] } };
}

/** The alerts destinations a placeholder can hide in: infra/alerts-config.ts's AlertsConfig fits it as is. */
export interface PlaceholderAlerts {
  webhooks: readonly { name: string; url: string }[];
  emails: readonly string[];
}

/** Why `host` cannot be real, or undefined. */
export function reservedHost(host: string): string | undefined {
  const h = host
    .toLowerCase()
    .replace(/^\*\.?/, "")
    .replace(/\.$/, "");
  const domain = RESERVED_DOMAINS.find((d) => h === d || h.endsWith(`.${d}`));
  if (domain) return `${domain} is reserved for examples (RFC 2606)`;
  const tld = RESERVED_TLDS.find((t) => h === t || h.endsWith(`.${t}`));
  if (tld) return `.${tld} is reserved and never resolves publicly (RFC 2606, RFC 6761)`;
  return undefined;
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

const LOCAL_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

/** Every placeholder in the settings and the stack's alerts (if any), in the order a reader meets the keys. */
export function findPlaceholders(s: PlaceholderInput, alerts?: PlaceholderAlerts): Placeholder[] {
  const out: Placeholder[] = [];
  const add = (key: string, value: string, why: string | undefined) => why && out.push({ key, value, why });

  add(
    "accountId",
    s.accountId,
    SAMPLE_ACCOUNT_IDS.includes(s.accountId) || /^(.)\1{31}$/.test(s.accountId)
      ? "the samples' account id, not an account of yours"
      : undefined,
  );
  const sub = s.routes.workersDevSubdomain;
  if (s.routes.workersDev && sub !== undefined) {
    add(
      "routes.workersDevSubdomain",
      sub,
      /(^|-)example($|-)|^your-/.test(sub) ? "a sample, not your account's workers.dev subdomain" : undefined,
    );
  }
  s.routes.customDomains.forEach((d, i) => {
    add(`routes.customDomains[${i}].hostname`, d.hostname, reservedHost(d.hostname));
    add(`routes.customDomains[${i}].zone`, d.zone, reservedHost(d.zone));
  });
  s.routes.zoneRoutes.forEach((r, i) => {
    add(`routes.zoneRoutes[${i}].pattern`, r.pattern, reservedHost(patternHost(r.pattern)));
    add(`routes.zoneRoutes[${i}].zone`, r.zone, reservedHost(r.zone));
  });
  s.routing.cors.allowOrigins.forEach((o, i) => {
    // A local origin is a real choice for a dev stack (an app on the developer's machine calling it).
    if (!LOCAL_ORIGIN.test(o)) add(`routing.cors.allowOrigins[${i}]`, o, reservedHost(hostOf(o) ?? ""));
  });
  alerts?.webhooks.forEach((w, i) => {
    const why = reservedHost(hostOf(w.url) ?? "");
    add(
      `alerts.destinations.webhooks[${i}].url`,
      w.url,
      why && `${why}; Cloudflare test-POSTs a webhook destination when it creates it, and the deploy stops there`,
    );
  });
  alerts?.emails.forEach((e, i) => add(`alerts.destinations.emails[${i}]`, e, reservedHost(e.slice(e.lastIndexOf("@") + 1))));
  return out;
}

/** The one message a real run stops with: every key to set, then how offline runs are told apart. */
export function placeholderMessage(project: string, stack: string, found: readonly Placeholder[]): string {
  return [
    `stack "${stack}": ${found.length} config value${found.length === 1 ? " is a sample placeholder" : "s are sample placeholders"}; set ${found.length === 1 ? "it" : "each"} before a preview or deploy (nothing was declared):`,
    ...found.map((p) => `  - ${project}:${p.key} = ${JSON.stringify(p.value)}: ${p.why}`),
    `Set them with pulumi config set [--path] <key> <value> --stack ${stack}. Only offline runs under the SDK mocks (npm run plan, the tests) set ${project}:allowPlaceholders.`,
  ].join("\n");
}

export class PlaceholderError extends Error {
  constructor(
    readonly placeholders: readonly Placeholder[],
    project: string,
    stack: string,
  ) {
    super(placeholderMessage(project, stack, placeholders));
    this.name = "PlaceholderError";
  }
}

/** Stops the program, before anything is declared, when the settings hold a placeholder and the run does not allow them. */
export function refusePlaceholders(
  s: PlaceholderInput & { allowPlaceholders: boolean; alerts?: { config: PlaceholderAlerts } },
  project: string,
  stack: string,
): void {
  if (s.allowPlaceholders) return;
  const found = findPlaceholders(s, s.alerts?.config);
  if (found.length > 0) throw new PlaceholderError(found, project, stack);
}

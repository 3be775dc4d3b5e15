/**
 * The API token permissions a stack needs, derived from what it declares rather than kept as a list in the docs:
 * the deploy token Pulumi runs with (one permission group per kind of resource the stack declares, and the lookups
 * the program makes), and the gateway token the Worker sends as cf-aig-authorization. Plain functions over declared
 * resources and the ROUTING value, so the plan, the minted token and the tests agree.
 *
 * Resource -> permission group, as the provider's resource docs list their scopes (terraform-provider-cloudflare v5,
 * which @pulumi/cloudflare 6 bridges) and the dashboard names them.
 */
import { patternHost } from "./stack-schema";

export interface Permission {
  /** Account-wide, or on the zones the stack routes (`hosts` names them). */
  scope: "Account" | "Zone";
  /** The permission group as the dashboard's token editor names it ("AI Gateway", "Workers Scripts", …). */
  group: string;
  level: "Read" | "Edit" | "Run";
  /** Why: the kinds of resource (or lookups) that need it. */
  for: string[];
  /** Zone permissions: the hostnames whose zones need it. */
  hosts?: string[];
}

const T = "cloudflare:index/";

/** What each resource type the program declares needs. A type missing here is an error: map it before it deploys. */
const BY_TYPE: Record<string, { needs: [Permission["scope"], string, Permission["level"]][]; what: string }> = {
  [`${T}aiGateway:AiGateway`]: { what: "the AI Gateway", needs: [["Account", "AI Gateway", "Edit"]] },
  [`${T}aiGatewayDynamicRouting:AiGatewayDynamicRouting`]: { what: "gateway dynamic routes", needs: [["Account", "AI Gateway", "Edit"]] },
  // A Durable Object migration travels with the script upload: nothing beyond Workers Scripts Edit.
  [`${T}workersScript:WorkersScript`]: { what: "the Worker script", needs: [["Account", "Workers Scripts", "Edit"]] },
  [`${T}workersCronTrigger:WorkersCronTrigger`]: { what: "cron triggers", needs: [["Account", "Workers Scripts", "Edit"]] },
  [`${T}workersScriptSubdomain:WorkersScriptSubdomain`]: {
    what: "the workers.dev switch",
    needs: [["Account", "Workers Scripts", "Edit"]],
  },
  [`${T}workersKvNamespace:WorkersKvNamespace`]: { what: "KV namespaces", needs: [["Account", "Workers KV Storage", "Edit"]] },
  [`${T}notificationPolicy:NotificationPolicy`]: { what: "notification policies", needs: [["Account", "Notifications", "Edit"]] },
  [`${T}notificationPolicyWebhooks:NotificationPolicyWebhooks`]: {
    what: "notification webhook destinations",
    needs: [["Account", "Notifications", "Edit"]],
  },
  // Minting a token also lists the account's permission groups (getAccountApiTokenPermissionGroupsList).
  [`${T}accountToken:AccountToken`]: {
    what: "minted account tokens and the permission-group lookup",
    needs: [["Account", "Account API Tokens", "Edit"]],
  },
  // Every zone resource's zoneId comes from a getZone lookup by name: Zone Read on its zone.
  [`${T}workersRoute:WorkersRoute`]: {
    what: "zone routes",
    needs: [
      ["Zone", "Workers Routes", "Edit"],
      ["Zone", "Zone", "Read"],
    ],
  },
  [`${T}workersCustomDomain:WorkersCustomDomain`]: {
    what: "custom domains (they create their own DNS record)",
    needs: [
      ["Account", "Workers Scripts", "Edit"],
      ["Zone", "DNS", "Edit"],
      ["Zone", "Zone", "Read"],
    ],
  },
  [`${T}dnsRecord:DnsRecord`]: {
    what: "DNS records",
    needs: [
      ["Zone", "DNS", "Edit"],
      ["Zone", "Zone", "Read"],
    ],
  },
};

function hostOf(type: string, inputs: Record<string, unknown>): string | undefined {
  if (type === `${T}workersRoute:WorkersRoute` && typeof inputs.pattern === "string") return patternHost(inputs.pattern);
  if (type === `${T}workersCustomDomain:WorkersCustomDomain` && typeof inputs.hostname === "string") return inputs.hostname;
  if (type === `${T}dnsRecord:DnsRecord` && typeof inputs.name === "string") return inputs.name;
  return undefined;
}

const ORDER = ["Account", "Zone"];
const key = (p: Pick<Permission, "scope" | "group" | "level">) => `${p.scope}\n${p.group}\n${p.level}`;

/** The deploy token's permissions for the declared resources (components and the stack itself need none). */
export function deployTokenPermissions(resources: readonly { type: string; inputs?: Record<string, unknown> }[]): Permission[] {
  const out = new Map<string, Permission>();
  for (const r of resources) {
    if (!r.type.startsWith("cloudflare:")) continue;
    const entry = BY_TYPE[r.type];
    if (!entry) throw new Error(`infra/permissions.ts has no permission for ${r.type}: look up its scopes in the provider docs and add it`);
    for (const [scope, group, level] of entry.needs) {
      const p = out.get(key({ scope, group, level })) ?? { scope, group, level, for: [] };
      if (!p.for.includes(entry.what)) p.for.push(entry.what);
      const host = scope === "Zone" ? hostOf(r.type, r.inputs ?? {}) : undefined;
      if (host) p.hosts = [...new Set([...(p.hosts ?? []), host])];
      out.set(key(p), p);
    }
  }
  return [...out.values()].sort(
    (a, b) => ORDER.indexOf(a.scope) - ORDER.indexOf(b.scope) || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0),
  );
}

/**
 * What the gateway token needs: AI Gateway Run for every call, and Workers AI Read when the /api/chat fallback chain
 * or an A/B target reaches Workers AI (a Run-only token, as the dashboard's "Create authentication token" makes, gets
 * those calls refused). https://developers.cloudflare.com/ai-gateway/configuration/authentication/
 */
export function gatewayTokenPermissions(routing: {
  chat: { fallback: readonly { provider: string }[]; experiments: readonly { target: { provider: string } }[] };
}): Permission[] {
  const out: Permission[] = [{ scope: "Account", group: "AI Gateway", level: "Run", for: ["every model call through the gateway"] }];
  const reaches = [...routing.chat.fallback, ...routing.chat.experiments.map((e) => e.target)].some((t) => t.provider === "workers-ai");
  if (reaches) out.push({ scope: "Account", group: "Workers AI", level: "Read", for: ["the /api/chat chain reaches Workers AI"] });
  return out;
}

/**
 * What the analytics token the alerts mint (or the stack supplies) needs: Account Analytics Read, for the Worker's
 * computed alerts to query the GraphQL Analytics API.
 */
export function analyticsTokenPermissions(): Permission[] {
  return [{ scope: "Account", group: "Account Analytics", level: "Read", for: ["the Worker's computed alerts (GraphQL Analytics API)"] }];
}

/** "AI Gateway Run": the name Cloudflare's permission-group listing gives a permission. */
export const groupName = (p: Pick<Permission, "group" | "level">): string => `${p.group} ${p.level}`;

/** "Account › AI Gateway: Edit", as people read it in the token editor. */
export function describePermission(p: Permission): string {
  const on = p.hosts?.length ? ` (zones of ${p.hosts.join(", ")})` : "";
  return `${p.scope} › ${p.group}: ${p.level}${on}`;
}

/**
 * Where the Worker answers: custom domains (Cloudflare manages DNS and certificate), zone route patterns with the
 * proxied DNS record each route's hostname needs, and the workers.dev URL switched on or off. Also computes the public
 * URLs the stack exports, and for each the base URL the Anthropic and OpenAI SDKs take.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import type { RoutesSettings } from "../config";
import { patternHost } from "../stack-schema";

export interface RoutesArgs extends RoutesSettings {
  /** Account that owns the Worker and the zones. */
  accountId: pulumi.Input<string>;
  /** The Worker script the routes point at. */
  scriptName: pulumi.Input<string>;
}

/** Base URL a client uses for a zone route pattern: its host (wildcard dropped) and the path before any `*`. */
export function routeUrl(pattern: string): string {
  const host = patternHost(pattern);
  const pathPart = pattern.slice(host.length).replace(/\*$/, "");
  return `https://${host.replace(/^\*\.?/, "")}${pathPart === "/" ? "" : pathPart.replace(/\/$/, "")}`;
}

/** The Worker's public URLs for the settings, custom domains first. */
export function publicUrls(settings: RoutesSettings, scriptName: string): string[] {
  return [
    ...settings.customDomains.map((d) => `https://${d.hostname}`),
    ...settings.zoneRoutes.map((r) => routeUrl(r.pattern)),
    ...(settings.workersDev && settings.workersDevSubdomain ? [`https://${scriptName}.${settings.workersDevSubdomain}.workers.dev`] : []),
  ];
}

/**
 * The base URL each official SDK takes for a public URL. The Anthropic SDK appends /v1/messages to its baseURL and
 * the OpenAI SDK appends /chat/completions, so a URL that already ends in /v1 (a zone route api.example.com/v1/*)
 * is the OpenAI base as is and the Anthropic base without its /v1: handing it to the Anthropic SDK unchanged would
 * send /v1/v1/messages.
 */
export function sdkBaseUrl(url: string): { url: string; anthropic: string; openai: string } {
  const anthropic = url.replace(/\/+$/, "").replace(/\/v1$/, "");
  return { url, anthropic, openai: `${anthropic}/v1` };
}

/**
 * The DNS records the zone routes need: one per hostname whose route says dnsRecord "create", skipping hostnames a
 * custom domain of the stack already serves (WorkersCustomDomain creates its own record, and fails with code 100117
 * when one exists). A route only runs on a proxied hostname
 * (https://developers.cloudflare.com/workers/configuration/routing/routes/#domains-and-subdomains-must-have-a-dns-record),
 * and a route does not create that record itself.
 */
export function routeDnsRecords(
  settings: Pick<RoutesSettings, "customDomains" | "zoneRoutes">,
): { hostname: string; zone: string; patterns: string[] }[] {
  const domains = new Set(settings.customDomains.map((d) => d.hostname));
  const out = new Map<string, { hostname: string; zone: string; patterns: string[] }>();
  for (const r of settings.zoneRoutes) {
    const hostname = patternHost(r.pattern);
    if (r.dnsRecord !== "create" || domains.has(hostname)) continue;
    const entry = out.get(hostname) ?? { hostname, zone: r.zone, patterns: [] };
    entry.patterns.push(r.pattern);
    out.set(hostname, entry);
  }
  return [...out.values()];
}

/** A stable resource name for a hostname or pattern ("api.example.com/v1/*" -> "api-example-com-v1"). */
export function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

export class Routes extends pulumi.ComponentResource {
  /** Public base URLs, custom domains first. */
  public readonly urls: pulumi.Output<string[]>;
  /** Per public URL, the baseURL for the Anthropic SDK and for the OpenAI SDK (see sdkBaseUrl). */
  public readonly sdkBaseUrls: pulumi.Output<{ url: string; anthropic: string; openai: string }[]>;

  constructor(name: string, args: RoutesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ai-gateway-stack:infra:Routes", name, {}, opts);
    const zones = new Map<string, pulumi.Output<string>>();
    const zoneId = (zone: string) => {
      if (!zones.has(zone)) zones.set(zone, cloudflare.getZoneOutput({ filter: { name: zone } }, { parent: this }).id);
      return zones.get(zone)!;
    };
    for (const d of args.customDomains) {
      new cloudflare.WorkersCustomDomain(
        `${name}-domain-${slug(d.hostname)}`,
        { accountId: args.accountId, hostname: d.hostname, service: args.scriptName, zoneId: zoneId(d.zone) },
        { parent: this },
      );
    }
    const records = new Map<string, cloudflare.DnsRecord>();
    for (const d of routeDnsRecords(args)) {
      records.set(
        d.hostname,
        new cloudflare.DnsRecord(
          `${name}-dns-${slug(d.hostname)}`,
          {
            zoneId: zoneId(d.zone),
            name: d.hostname,
            // 100:: is the IPv6 discard prefix (RFC 6666): the hostname has no origin, only the Worker answers.
            type: "AAAA",
            content: "100::",
            proxied: true,
            ttl: 1,
            comment: `Workers-only hostname for the route ${d.patterns.join(", ")}`,
          },
          { parent: this },
        ),
      );
    }
    for (const r of args.zoneRoutes) {
      const record = records.get(patternHost(r.pattern));
      new cloudflare.WorkersRoute(
        `${name}-route-${slug(r.pattern)}`,
        { zoneId: zoneId(r.zone), pattern: r.pattern, script: args.scriptName },
        { parent: this, ...(record ? { dependsOn: [record] } : {}) },
      );
    }
    // Declared either way: turning workers.dev off must switch it off, not just forget it.
    new cloudflare.WorkersScriptSubdomain(
      `${name}-workers-dev`,
      { accountId: args.accountId, scriptName: args.scriptName, enabled: args.workersDev, previewsEnabled: false },
      { parent: this },
    );
    this.urls = pulumi.output(args.scriptName).apply((script) => publicUrls(args, script));
    this.sdkBaseUrls = this.urls.apply((list) => list.map(sdkBaseUrl));
    this.registerOutputs({ urls: this.urls, sdkBaseUrls: this.sdkBaseUrls });
  }
}

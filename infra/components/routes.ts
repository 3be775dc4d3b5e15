/**
 * Where the Worker answers: custom domains (Cloudflare manages DNS and certificate), zone route patterns on existing
 * hosts, and the workers.dev URL switched on or off. Also computes the public URLs the stack exports.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import type { RoutesSettings } from "../config";

export interface RoutesArgs extends RoutesSettings {
  /** Account that owns the Worker and the zones. */
  accountId: pulumi.Input<string>;
  /** The Worker script the routes point at. */
  scriptName: pulumi.Input<string>;
}

/** Base URL a client uses for a zone route pattern: its host (wildcard dropped) and the path before any `*`. */
export function routeUrl(pattern: string): string {
  const slash = pattern.indexOf("/");
  const host = pattern.slice(0, slash).replace(/^\*\.?/, "");
  const pathPart = pattern.slice(slash).replace(/\*$/, "");
  return `https://${host}${pathPart === "/" ? "" : pathPart.replace(/\/$/, "")}`;
}

/** The Worker's public URLs for the settings, custom domains first. */
export function publicUrls(settings: RoutesSettings, scriptName: string): string[] {
  return [
    ...settings.customDomains.map((d) => `https://${d.hostname}`),
    ...settings.zoneRoutes.map((r) => routeUrl(r.pattern)),
    ...(settings.workersDev && settings.workersDevSubdomain ? [`https://${scriptName}.${settings.workersDevSubdomain}.workers.dev`] : []),
  ];
}

/** A stable resource name for a hostname or pattern ("api.example.com/v1/*" -> "api-example-com-v1"). */
export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}

export class Routes extends pulumi.ComponentResource {
  /** Public base URLs, custom domains first. */
  public readonly urls: pulumi.Output<string[]>;

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
    for (const r of args.zoneRoutes) {
      new cloudflare.WorkersRoute(
        `${name}-route-${slug(r.pattern)}`,
        { zoneId: zoneId(r.zone), pattern: r.pattern, script: args.scriptName },
        { parent: this },
      );
    }
    // Declared either way: turning workers.dev off must switch it off, not just forget it.
    new cloudflare.WorkersScriptSubdomain(
      `${name}-workers-dev`,
      { accountId: args.accountId, scriptName: args.scriptName, enabled: args.workersDev, previewsEnabled: false },
      { parent: this },
    );
    this.urls = pulumi.output(args.scriptName).apply((script) => publicUrls(args, script));
    this.registerOutputs({ urls: this.urls });
  }
}

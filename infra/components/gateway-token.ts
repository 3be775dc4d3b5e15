/**
 * The token the Worker sends as cf-aig-authorization. Either minted here as an account token with the permission
 * groups the caller passes (infra/permissions.ts derives them from ROUTING: AI Gateway Run, and Workers AI Read when
 * a route reaches Workers AI), or supplied by the stack as a secret. Its value leaves this component only as a Pulumi
 * secret.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";

export type GatewayTokenArgs =
  | {
      /** Mint an account token in the program. */
      source: "mint";
      /** Account the token belongs to and is scoped to. */
      accountId: string;
      /** Token name as shown in the dashboard. @default "<component name>" */
      tokenName?: string;
      /** Permission groups by name, as infra/permissions.ts derives them from ROUTING. */
      permissionGroups: readonly string[];
    }
  | {
      /** Use a token created outside the program. */
      source: "config";
      /** The token, from config.requireSecret. */
      value: pulumi.Output<string>;
    };

/** Picks the ids of `wanted` from a permission-group listing; a missing group is an error, not a weaker token. */
export function permissionGroupIds(groups: readonly { id: string; name: string }[], wanted: readonly string[]): string[] {
  return wanted.map((name) => {
    const group = groups.find((g) => g.name === name);
    if (!group)
      throw new Error(`permission group "${name}" is not offered to this account (found: ${groups.map((g) => g.name).join(", ")})`);
    return group.id;
  });
}

/** One allow policy over the whole account: the gateway and Workers AI are account-level resources. */
export function tokenPolicy(accountId: string, groupIds: string[]): cloudflare.types.input.AccountTokenPolicy {
  return {
    effect: "allow",
    permissionGroups: groupIds.map((id) => ({ id })),
    resources: JSON.stringify({ [`com.cloudflare.api.account.${accountId}`]: "*" }),
  };
}

export class GatewayToken extends pulumi.ComponentResource {
  /** The token, always a Pulumi secret. */
  public readonly value: pulumi.Output<string>;
  /** The minted token resource, when source is "mint". */
  public readonly token?: cloudflare.AccountToken;

  constructor(name: string, args: GatewayTokenArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ai-gateway-stack:infra:GatewayToken", name, {}, opts);
    if (args.source === "mint") {
      const groups = cloudflare.getAccountApiTokenPermissionGroupsListOutput({ accountId: args.accountId }, { parent: this });
      const ids = groups.results.apply((list) => permissionGroupIds(list, args.permissionGroups));
      this.token = new cloudflare.AccountToken(
        name,
        {
          accountId: args.accountId,
          name: args.tokenName ?? name,
          policies: [ids.apply((g) => tokenPolicy(args.accountId, g))],
        },
        { parent: this },
      );
      this.value = pulumi.secret(this.token.value);
    } else {
      this.value = pulumi.secret(args.value);
    }
    this.registerOutputs({ value: this.value });
  }
}

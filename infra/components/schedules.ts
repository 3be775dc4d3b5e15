/**
 * Cron triggers for the Worker's scheduled handler (alert checks use them). The trigger resource is declared even
 * when the stack has no schedules, with `schedules: []`: the provider's WorkersCronTrigger delete does nothing in the
 * API (terraform-provider-cloudflare: "cannot be destroyed … will not change it"), so dropping the resource would
 * leave the last schedules firing. An empty list is what switches them off.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { normalizeCron } from "../../worker/src/contract/alerts";

/**
 * The schedules of several sources (the stack's crons, the alerts cron) as one list: each spelt one way and listed
 * once, in first-seen order, so one schedule written two ways never becomes two triggers.
 */
export function mergeCrons(...lists: readonly (readonly string[])[]): string[] {
  return [...new Set(lists.flat().map(normalizeCron))];
}

export interface SchedulesArgs {
  /** Account that owns the Worker. */
  accountId: pulumi.Input<string>;
  /** The Worker script the triggers invoke. */
  scriptName: pulumi.Input<string>;
  /** Five-field cron expressions, in UTC. @default [] */
  crons?: string[];
}

export class Schedules extends pulumi.ComponentResource {
  /** The cron expressions in effect. */
  public readonly crons: string[];
  public readonly trigger: cloudflare.WorkersCronTrigger;

  constructor(name: string, args: SchedulesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ai-gateway-stack:infra:Schedules", name, {}, opts);
    this.crons = args.crons ?? [];
    this.trigger = new cloudflare.WorkersCronTrigger(
      name,
      { accountId: args.accountId, scriptName: args.scriptName, schedules: this.crons.map((cron) => ({ cron })) },
      { parent: this },
    );
    this.registerOutputs({ crons: this.crons });
  }
}

/**
 * The policy pack: `pulumi preview --policy-pack policy` (optionally `--policy-pack-config <file>` to override
 * productionStacks or maxCompatibilityDateAgeDays). The rules live in policy/rules.ts; constructing the pack here
 * starts the analyzer server, so only the Pulumi CLI loads this file.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./pack";

new PolicyPack("ai-gateway-stack", { policies: policies(), enforcementLevel: "mandatory" });

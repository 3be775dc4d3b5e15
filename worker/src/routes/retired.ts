/** The warning a retired model leaves in the log: which stack setting routes to it, so the operator can change it. */
import type { ApiCall } from "../pipeline";

export function warnRetired(call: ApiCall, provider: string, model: string, setting?: string): void {
  call.deps.log({
    level: "warn",
    warning: "model_retired",
    provider,
    model,
    stack: call.iso.stack,
    detail: `${provider} says model "${model}" no longer exists: change ${setting ?? `routing.models.${provider}`} in Pulumi.${call.iso.stack}.yaml (ai-gateway-stack:routing)`,
  });
}

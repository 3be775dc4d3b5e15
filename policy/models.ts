/**
 * Policy rules on the models a Worker's ROUTING binding lets traffic reach: none past its end of life (a call would
 * fail: Workers AI error 5028, OpenAI model_not_found, Anthropic not_found_error), and a warning while one is
 * retiring soon. Lifecycle data: infra/models.ts (the installed SDKs' own tables and infra/model-lifecycle.ts).
 */
import {
  describeStatus,
  installedCatalog,
  isDead,
  isRetiringWithin,
  type ModelCatalog,
  type RoutedModel,
  routedModels,
} from "../infra/models";
import { parseRouting, type Routing } from "../worker/src/contract";
import { jsonBinding, type PolicyResource, type ResourceRule, type RuleContext, TYPES } from "./resource";

/**
 * The ROUTING binding's value as declared, or undefined when there is none or it is not a valid ROUTING value (the
 * program validates it before declaring anything; the models of an invalid one are not known).
 */
function routingOf(worker: PolicyResource): Routing | undefined {
  const json = jsonBinding(worker, "ROUTING");
  if (json === undefined) return undefined;
  try {
    return parseRouting(JSON.parse(json));
  } catch {
    return undefined;
  }
}

function routed(worker: PolicyResource, ctx: RuleContext): RoutedModel[] {
  const routing = routingOf(worker);
  const catalog: ModelCatalog = ctx.models ?? installedCatalog();
  return routing ? routedModels(routing, catalog, ctx.now) : [];
}

export const modelsNotRetired: ResourceRule = {
  scope: "resource",
  name: "models-not-retired",
  description: "No Worker routes to a model past its end of life (the installed SDKs' dates and infra/model-lifecycle.ts).",
  settings: [],
  appliesTo: (t) => t === TYPES.workersScript,
  check: (r, ctx) =>
    routed(r, ctx)
      .filter((m) => isDead(m.status))
      .map(
        (m) =>
          `Worker "${r.name}" routes to ${m.provider} model "${m.model}", ${describeStatus(m.status)}: calls to it fail; move routing to a live model`,
      ),
};

export const modelsNotRetiringSoon: ResourceRule = {
  scope: "resource",
  name: "models-not-retiring-soon",
  description: "Warns when a Worker routes to a model retiring within modelRetirementWarningDays, or to one no lifecycle source knows.",
  settings: ["modelRetirementWarningDays"],
  enforcement: "advisory",
  appliesTo: (t) => t === TYPES.workersScript,
  check: (r, ctx) =>
    routed(r, ctx).flatMap((m) => {
      if (isRetiringWithin(m.status, ctx.settings.modelRetirementWarningDays)) {
        return [
          `Worker "${r.name}" routes to ${m.provider} model "${m.model}", ${describeStatus(m.status, { days: false })}: move routing to a live model before then`,
        ];
      }
      if (m.status.state === "unknown") {
        return [
          `Worker "${r.name}" routes to ${m.provider} model "${m.model}", whose lifecycle is unknown: check the name, or record it in infra/model-lifecycle.ts`,
        ];
      }
      return [];
    }),
};

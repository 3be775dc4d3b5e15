/** One attempt through the gateway: its headers (auth, metadata, cache) and the call, collapsed with identical ones. */
import { cacheKey, cachePlan, gatewayHeaders, type CachePlan } from "../gateway";
import type { ApiCall } from "../pipeline";
import type { Provider } from "../providers/provider";
import { IN } from "../wire";
import { callUpstream, type Upstream } from "./flight";

export interface Attempt {
  provider: Provider;
  model: string;
  /** The upstream body as sent: the client's own bytes on the pass-through surfaces. */
  text: string;
  /** The same body parsed, for the cache key. */
  value: Record<string, unknown>;
  /** Client headers the provider should see (they also key the cache). */
  forwarded: Record<string, string>;
  variant: string;
  feature: string;
  attemptMs: number;
}

export async function sendAttempt(call: ApiCall, a: Attempt): Promise<{ up: Upstream; plan: CachePlan }> {
  const { iso } = call;
  const plan = cachePlan(iso.routing.cacheTtl[call.surface], call.req.headers.get(IN.cacheControl));
  const key = plan.skip
    ? ""
    : await cacheKey({
        client: call.client,
        surface: call.surface,
        provider: a.provider.name,
        model: a.model,
        headers: a.forwarded,
        body: a.value,
        volatile: a.provider.volatileFields,
      });
  const meta = { client: call.client, feature: a.feature, variant: a.variant, stack: iso.stack, requestId: call.requestId };
  const headers = {
    ...a.provider.defaultHeaders,
    ...gatewayHeaders(iso.gatewayAuth, meta, plan, key, a.attemptMs),
    ...a.forwarded,
    ...iso.providerAuth[a.provider.name],
  };
  const url = iso.gateway + a.provider.path(a.model);
  const up = await callUpstream((signal) => call.deps.fetch(url, { method: "POST", headers, body: a.text, signal }), a.attemptMs, key, call.ctx);
  return { up, plan };
}

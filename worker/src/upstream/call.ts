/**
 * One attempt through the gateway: the client's budget held for its worst case, its headers (auth, metadata,
 * cache) and the call, collapsed with identical ones.
 */
import { type Held, hold } from "../budget/meter";
import { type CachePlan, cacheKey, cachePlan, gatewayHeaders } from "../gateway";
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
  /** The output cap the Worker sends when the body names none (/api/chat), for the budget's worst case. */
  sentMaxTokens?: number;
}

/**
 * Sends one attempt. `held` is the budget's hold for it (undefined on a stack without budgets): the caller settles it
 * with the answer's usage or releases it when the attempt fails; a call that never produced an answer releases it here.
 */
export async function sendAttempt(call: ApiCall, a: Attempt): Promise<{ up: Upstream; plan: CachePlan; held: Held | undefined }> {
  const { iso } = call;
  const held = await hold(iso.budget, {
    client: call.client,
    provider: a.provider,
    model: a.model,
    bodyBytes: a.text === call.body.text ? call.body.bytes : a.text.length * 3,
    body: a.value,
    sentMaxTokens: a.sentMaxTokens,
    ctx: call.ctx,
  });
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
  let up: Upstream;
  try {
    up = await callUpstream(
      (signal) => call.deps.fetch(url, { method: "POST", headers, body: a.text, signal }),
      a.attemptMs,
      key,
      call.ctx,
    );
  } catch (e) {
    held?.release();
    throw e;
  }
  return { up, plan, held };
}

/**
 * The floor for the benchmarks: a bare fetch proxy in the same runtime as the gateway Worker. It forwards every
 * request unchanged (method, headers, body, path) to UPSTREAM and streams the answer back, with no auth, no parsing
 * and no cache logic, so the gap between it and the Worker is what the Worker's middleware costs.
 */
interface Env {
  /** Origin of the gateway stand-in, e.g. http://127.0.0.1:8788 */
  UPSTREAM: string;
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    return fetch(env.UPSTREAM + url.pathname + url.search, request);
  },
};

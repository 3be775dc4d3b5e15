/** Loads ROUTING and checks the required bindings before any API route runs; a broken binding is a config_error. */
import { createMiddleware } from "hono/factory";
import { requireBindings, routingOf } from "../config";
import type { AppEnv } from "../context";

export const loadConfig = createMiddleware<AppEnv>(async (c, next) => {
  requireBindings(c.env);
  c.set("routing", routingOf(c.env));
  await next();
});

/**
 * Composes the Worker: one handler per path, each running the API pipeline (pipeline/) around its route, so a
 * request passes one function rather than a chain of middleware. Dependencies come in, so tests run this same app
 * with a fake gateway.
 */
import { Hono } from "hono/tiny";
import type { AppEnv, Deps } from "./context";
import { ApiError } from "./errors";
import { apiEndpoint, plainEndpoint, type Route, usageEndpoint } from "./pipeline";
import { chat } from "./routes/chat";
import { chatCompletions } from "./routes/chat-completions";
import { messages } from "./routes/messages";
import { API_PATHS, HEALTH_PATH, type Surface, USAGE_PATH } from "./wire";

const ROUTES: Record<Surface, Route> = { messages, chatCompletions, chat };

export function createApp(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.all(
    HEALTH_PATH,
    plainEndpoint(deps, ["GET", "HEAD"], () => Response.json({ ok: true })),
  );
  for (const [path, surface] of Object.entries(API_PATHS)) app.all(path, apiEndpoint(deps, surface, ROUTES[surface]));
  app.all(USAGE_PATH, usageEndpoint(deps));
  app.notFound(
    plainEndpoint(deps, undefined, (c) => {
      throw new ApiError(404, "not_found", `No route for ${c.req.method} ${c.req.path}.`);
    }),
  );
  return app;
}

/** The provider registry: ROUTING names a provider, this maps the name to its object. */
import type { ProviderName } from "../contract/routing";
import { anthropic } from "./anthropic";
import { openai } from "./openai";
import type { Provider } from "./provider";
import { workersAi } from "./workers-ai";

export const providers: Record<ProviderName, Provider> = {
  anthropic,
  openai,
  "workers-ai": workersAi,
};

/**
 * The contract between the Worker and the Node side (infra, policy, scripts, bench, tests): the binding list and the
 * schemas of the json bindings. This folder is the only part of worker/ the Node side may import (a lint rule keeps
 * it so), and it imports nothing outside itself but valibot.
 */
export * from "./alerts";
export * from "./bindings";
export * from "./budgets";
export * from "./clients";
export * from "./routing";
export * from "./schema";

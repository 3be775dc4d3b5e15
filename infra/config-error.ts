/**
 * The program's one config error: `stack "dev": config ai-gateway-stack:gateway.rateLimit.technique must be one of:
 * fixed, sliding (got "burst")`. Every check of the stack config (the contract's schemas included) ends here, so each
 * message names the stack and the full key the same way; secret values never reach it (they are not schema-checked).
 */
import { ContractError, joinPath } from "../worker/src/contract";

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly stack: string,
    problem: string,
  ) {
    super(`stack "${stack}": config ${key} ${problem}`);
    this.name = "ConfigError";
  }
}

/** Runs `parse`; a ContractError becomes a ConfigError naming `<project>:<prefix>.<path>`, the stack and the value. */
export function asConfigError<T>(project: string, stack: string, prefix: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof ContractError)) throw err;
    const got = err.received === undefined ? "" : ` (got ${err.received})`;
    throw new ConfigError(`${project}:${joinPath(prefix, err.path)}`, stack, `${err.problem}${got}`);
  }
}

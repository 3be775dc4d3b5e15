/**
 * `npm start`: the whole path on one machine, no account and no network. Starts the AI Gateway stand-in and the
 * Worker (`wrangler dev --local`) on 127.0.0.1, prints the Worker URL, the development client key and a curl to
 * paste, and stops both on Ctrl-C / SIGTERM or as soon as either dies (then exits non-zero).
 *
 * Secrets: worker/.dev.vars when present, else worker/.dev.vars.example (fake development values) handed to
 * wrangler with --env-file, so nothing is copied anywhere. Ports: 8787 (Worker) and 8788 (stand-in), or
 * --port / --standin-port, or WORKER_PORT / STANDIN_PORT.
 */
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { type Standin, startStandin } from "./gateway-standin/index";
import { assertPortFree, findDevClientKey, readDevVars, startWorker, type WorkerProcess } from "./local-stack";

const IP = "127.0.0.1";

function port(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name} must be a port number from 1 to 65535, got "${v}"`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: process.env.WORKER_PORT ?? "8787" },
      "standin-port": { type: "string", default: process.env.STANDIN_PORT ?? "8788" },
      "dev-vars": { type: "string" },
      quiet: { type: "boolean", default: false },
    },
  });
  const workerPort = port("--port / WORKER_PORT", values.port);
  const standinPort = port("--standin-port / STANDIN_PORT", values["standin-port"]);
  if (workerPort === standinPort) throw new Error(`the Worker and the stand-in need different ports (both are ${workerPort})`);

  const root = process.cwd();
  if (!existsSync(join(root, "worker", "wrangler.jsonc")))
    throw new Error("run npm start from the repository root (worker/wrangler.jsonc not found)");
  const own = join(root, "worker", ".dev.vars");
  const example = join(root, "worker", ".dev.vars.example");
  const secretsFile = values["dev-vars"] ?? (existsSync(own) ? own : example);
  const secrets = readDevVars(secretsFile);
  if (!secrets) throw new Error(`no development secrets: ${secretsFile} is missing (create worker/.dev.vars, or pass --dev-vars FILE)`);
  const vars = secrets.vars;

  await assertPortFree(workerPort, IP, "Worker", "pick another with --port or WORKER_PORT");
  await assertPortFree(standinPort, IP, "gateway stand-in", "pick another with --standin-port or STANDIN_PORT");

  const standin: Standin = await startStandin({
    port: standinPort,
    host: IP,
    token: vars.AI_GATEWAY_TOKEN,
    providerKeys: { anthropic: vars.ANTHROPIC_API_KEY, openai: vars.OPENAI_API_KEY },
  });
  let worker: WorkerProcess | undefined;
  let stopping = false;
  const shutdown = async (code: number, why?: string): Promise<never> => {
    if (!stopping) {
      stopping = true;
      if (why) console.error(why);
      await worker?.stop();
      await standin.close();
    }
    process.exit(code);
  };
  process.once("SIGINT", () => void shutdown(0));
  process.once("SIGTERM", () => void shutdown(0));

  console.log(`Starting the gateway stand-in on ${standin.url} and the Worker on http://${IP}:${workerPort} …`);
  try {
    worker = await startWorker({
      root,
      port: workerPort,
      ip: IP,
      vars: { AI_GATEWAY_BASE_URL: standin.baseUrl },
      // wrangler reads worker/.dev.vars by itself; anything else is passed explicitly.
      envFile: secretsFile === own ? undefined : secretsFile,
      onOutput: values.quiet ? undefined : (s) => process.stdout.write(s.replace(/^(?=.)/gm, "[worker] ")),
    });
  } catch (e) {
    return shutdown(1, e instanceof Error ? e.message : String(e));
  }
  void worker.exited.then((code) => {
    if (!stopping) void shutdown(1, `wrangler dev stopped unexpectedly (exit ${code}); the stand-in is stopped too.`);
  });

  const dev = findDevClientKey(vars, secrets.comments);
  const key = dev?.key ?? "<your client key>";
  const body = JSON.stringify({ messages: [{ role: "user", content: "Hello from npm start" }] });
  console.log(
    [
      "",
      "Local stack is up (no account, no network needed):",
      `  Worker            ${worker.url}`,
      `  Gateway stand-in  ${standin.url}   (faults and records under ${standin.url}/__standin/)`,
      dev
        ? `  Client key        ${dev.key}   (development client "${dev.clientId}", from ${relative(root, secretsFile)})`
        : `  Client key        none found in the comments of ${secretsFile}: use the key whose SHA-256 is in its CLIENT_KEYS`,
      "",
      "Try:",
      `  curl -s ${worker.url}/api/chat -H 'authorization: Bearer ${key}' -H 'content-type: application/json' -d '${body}'`,
      "",
      "Ctrl-C stops both.",
      "",
    ].join("\n"),
  );
  return new Promise<number>(() => {}); // runs until a signal or a child's death calls shutdown
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});

// The profiler's reading of a CPU profile: time per sample, self and total per function, file and module (recursion
// counted once), frames mapped back to their sources through a real esbuild source map, and its command line.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSync } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { nonNegativeNumber, parseBenchArgs, parseProfileArgs } from "../lib/args";
import { type FrameResolver, renderProfile, sampleDurations, summarizeProfile, textTable } from "../lib/cpuprofile";
import type { CallFrame, CpuProfile } from "../lib/inspector";
import { bundleResolver, classifySource, scriptModule } from "../lib/sourcemap";
import { routeRequest } from "../profile";

const frame = (functionName: string, url = "", lineNumber = 0): CallFrame => ({
  functionName,
  url,
  lineNumber,
  columnNumber: 0,
  scriptId: "1",
});

/**
 * root ─┬ (program)   ─ (idle) ─ (garbage collector)
 *       └ handle [worker/src/app.ts] ─ dispatch [hono] ─ handle (recursion) ; and `fetch`, a native, under handle.
 */
function handMade(): CpuProfile {
  return {
    nodes: [
      { id: 1, callFrame: frame("(root)"), children: [2, 3, 4, 7] },
      { id: 2, callFrame: frame("(program)") },
      { id: 3, callFrame: frame("(idle)") },
      { id: 4, callFrame: frame("handle", "app"), children: [5, 8] },
      { id: 5, callFrame: frame("dispatch", "hono"), children: [6] },
      { id: 6, callFrame: frame("handle", "app") },
      { id: 7, callFrame: frame("(garbage collector)") },
      { id: 8, callFrame: frame("fetch") },
    ],
    startTime: 0,
    endTime: 80,
    samples: [2, 3, 5, 6, 6, 7, 4, 8],
    timeDeltas: [0, 10, 10, 10, 10, 10, 10, 10],
  };
}

const resolveHandMade: FrameResolver = (f) => {
  if (f.url === "app") return { name: f.functionName, file: "worker/src/app.ts", line: 7, module: "worker/src" };
  if (f.url === "hono") return { name: f.functionName, file: "hono/dist/compose.js", line: 24, module: "hono" };
  return { name: f.functionName, file: "", line: 0, module: f.functionName.startsWith("(") ? f.functionName : "(native code)" };
};

describe("sampleDurations", () => {
  it("gives each sample the gap to the next one and the last one the mean gap", () => {
    const p: CpuProfile = { nodes: [], startTime: 0, endTime: 60, samples: [1, 1, 1], timeDeltas: [5, 20, 30] };
    expect(sampleDurations(p)).toEqual([20, 30, 25]);
  });

  it("treats a one-sample profile as covering the whole profile", () => {
    expect(sampleDurations({ nodes: [], startTime: 100, endTime: 140, samples: [1], timeDeltas: [3] })).toEqual([40]);
  });
});

describe("summarizeProfile", () => {
  const s = summarizeProfile(handMade(), resolveHandMade, 4);

  it("splits sampled time into idle, garbage collection, (program) and busy", () => {
    expect(s).toMatchObject({ samples: 8, sampledUs: 80, idleUs: 10, gcUs: 10, programUs: 10, busyUs: 70, requests: 4 });
  });

  it("counts a function's self time where it is the leaf and its total once per sample, recursion included", () => {
    const byName = Object.fromEntries(s.byFunction.map((r) => [r.label, r]));
    expect(byName.handle).toMatchObject({ selfUs: 30, totalUs: 50, selfSamples: 3, where: "worker/src/app.ts:7" });
    expect(byName.dispatch).toMatchObject({ selfUs: 10, totalUs: 30, where: "hono/dist/compose.js:24" });
    expect(byName.fetch).toMatchObject({ selfUs: 10, totalUs: 10, where: "" });
    expect(byName["(root)"]).toBeUndefined();
    // Sorted by self time, largest first.
    expect(s.byFunction[0]!.label).toBe("handle");
  });

  it("aggregates the same way by file and by module", () => {
    const mod = Object.fromEntries(s.byModule.map((r) => [r.label, r]));
    expect(mod["worker/src"]).toMatchObject({ selfUs: 30, totalUs: 50 });
    expect(mod.hono).toMatchObject({ selfUs: 10, totalUs: 30 });
    expect(mod["(native code)"]).toMatchObject({ selfUs: 10, totalUs: 10 });
    const file = Object.fromEntries(s.byFile.map((r) => [r.label, r]));
    expect(file["worker/src/app.ts"]).toMatchObject({ selfUs: 30, totalUs: 50, where: "worker/src" });
  });

  it("refuses a sample that names a node the profile does not list", () => {
    const p = { ...handMade(), samples: [99], timeDeltas: [1] };
    expect(() => summarizeProfile(p, resolveHandMade, 1)).toThrow(/node 99/);
  });

  it("prints per-request figures and tables without the idle row", () => {
    const text = renderProfile(s, { top: 10, title: "Profile of a test", notes: ["a note"] });
    expect(text).toContain("Profile of a test\na note\n");
    expect(text).toContain(
      "4 requests answered while sampling: 2.00 samples per request, 1.75 of them busy; busy time 17.5 µs per request",
    );
    expect(text).toMatch(/^worker\/src +0\.0 +42\.9% +7\.5 +0\.1 +71\.4% +12\.5$/m);
    expect(text).not.toMatch(/^\(idle\)/m);
  });
});

describe("textTable", () => {
  it("pads the first column left and the rest right", () => {
    expect(
      textTable(
        ["name", "ms"],
        [
          ["a", "1.0"],
          ["longer", "12.5"],
        ],
      ),
    ).toBe("name      ms\n------  ----\na        1.0\nlonger  12.5");
  });
});

describe("source mapping", () => {
  const dir = mkdtempSync(join(tmpdir(), "profile-map-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names the module of a source path: package, the Worker's own files, anything else", () => {
    expect(classifySource("/r/node_modules/@anthropic-ai/sdk/src/client.ts", "/r")).toEqual({
      module: "@anthropic-ai/sdk",
      file: "@anthropic-ai/sdk/src/client.ts",
    });
    expect(classifySource("/r/node_modules/hono/dist/compose.js", "/r")).toEqual({ module: "hono", file: "hono/dist/compose.js" });
    expect(classifySource("/r/worker/src/app.ts", "/r")).toEqual({ module: "worker/src", file: "worker/src/app.ts" });
    expect(classifySource("/r/bench/results/tmp/src-abc/worker/src/app.ts", "/r")).toEqual({
      module: "worker/src",
      file: "worker/src/app.ts",
    });
    expect(scriptModule("node-internal:internal_inspect")).toBe("(workerd built-ins)");
    expect(scriptModule("bench:kv")).toBe("(bench binding stubs)");
  });

  it("maps a bundle position back to the original function, file and line through the bundle's source map", () => {
    mkdirSync(join(dir, "node_modules", "tinypkg"), { recursive: true });
    mkdirSync(join(dir, "worker", "src"), { recursive: true });
    writeFileSync(join(dir, "node_modules", "tinypkg", "index.js"), "export function helper(x) {\n  return x * 2;\n}\n");
    writeFileSync(
      join(dir, "worker", "src", "index.ts"),
      'import { helper } from "tinypkg";\n\nexport function handle(n: number): number {\n  return helper(n) + 1;\n}\n',
    );
    buildSync({
      entryPoints: [join(dir, "worker", "src", "index.ts")],
      bundle: true,
      format: "esm",
      sourcemap: "external",
      outfile: join(dir, "out", "index.js"),
      absWorkingDir: dir,
      logLevel: "silent",
    });
    const out = readFileSync(join(dir, "out", "index.js"), "utf8").split("\n");
    const at = (text: string): CallFrame => {
      const line = out.findIndex((l) => l.includes(text));
      return frame(text.replace(/^function /, ""), "index.js", line);
    };
    const { resolve, mapped } = bundleResolver(join(dir, "out", "index.js"), dir);
    expect(mapped).toBe(true);
    expect(resolve({ ...at("function helper"), columnNumber: 0 })).toEqual({
      name: "helper",
      file: "tinypkg/index.js",
      line: 1,
      module: "tinypkg",
    });
    expect(resolve({ ...at("function handle"), columnNumber: 0 })).toEqual({
      name: "handle",
      file: "worker/src/index.ts",
      line: 3,
      module: "worker/src",
    });
    expect(resolve(frame("(garbage collector)"))).toMatchObject({ module: "(garbage collector)" });
    expect(resolve(frame(""))).toMatchObject({ name: "(anonymous native)", module: "(native code)" });
    expect(resolve(frame("inspect", "node-internal:internal_inspect", 4))).toEqual({
      name: "inspect",
      file: "node-internal:internal_inspect",
      line: 5,
      module: "(workerd built-ins)",
    });
  });

  it("gives a function the minifier renamed its source name back, V8 placing it at its parameter list", () => {
    buildSync({
      entryPoints: [join(dir, "worker", "src", "index.ts")],
      bundle: true,
      minify: true,
      format: "esm",
      sourcemap: "external",
      outfile: join(dir, "min", "index.js"),
      absWorkingDir: dir,
      logLevel: "silent",
    });
    const text = readFileSync(join(dir, "min", "index.js"), "utf8");
    const lines = text.split("\n");
    const line = lines.findIndex((l) => /function [\w$]+\(([\w$]+)\)\{return \1\*2\}/.test(l));
    const m = /function ([\w$]+)(\()([\w$]+)\)\{return \3\*2\}/.exec(lines[line]!)!;
    expect(m[1]).not.toBe("helper");
    const { resolve } = bundleResolver(join(dir, "min", "index.js"), dir);
    const paren = m.index + "function ".length + m[1]!.length;
    expect(resolve({ ...frame(m[1]!, "index.js", line), columnNumber: paren })).toMatchObject({
      name: "helper",
      file: "tinypkg/index.js",
      module: "tinypkg",
    });
    // A name V8 inferred from elsewhere (no identifier before the parameters) is kept as V8 reports it.
    expect(resolve({ ...frame("o.m", "index.js", line), columnNumber: paren })).toMatchObject({ name: "o.m", module: "tinypkg" });
  });

  it("keeps bundle positions when there is no source map", () => {
    writeFileSync(join(dir, "plain.js"), "export default {};\n");
    const { resolve, mapped } = bundleResolver(join(dir, "plain.js"), dir);
    expect(mapped).toBe(false);
    expect(resolve(frame("f", "plain.js", 0))).toEqual({ name: "f", file: "plain.js", line: 1, module: "(bundle, no source map)" });
  });
});

describe("command lines", () => {
  it("profiles POST /v1/messages cache misses at 8 connections for 5 s unless told otherwise", () => {
    expect(parseProfileArgs([])).toMatchObject({
      route: "messages",
      stream: false,
      seconds: 5,
      connections: 8,
      intervalUs: 50,
      runtime: "workerd",
      minify: false,
      top: 25,
    });
    expect(
      parseProfileArgs(["--route", "chat", "--stream", "--seconds", "2.5", "--connections", "1", "--at", "HEAD~1", "--runtime", "dev"]),
    ).toMatchObject({
      route: "chat",
      stream: true,
      seconds: 2.5,
      connections: 1,
      at: "HEAD~1",
      runtime: "dev",
    });
  });

  it("rejects a bad value with a message naming the option", () => {
    expect(() => parseProfileArgs(["--route", "embeddings"])).toThrow(
      '--route must be one of messages, chat-completions, chat, got "embeddings"',
    );
    expect(() => parseProfileArgs(["--connections", "2.5"])).toThrow("--connections must be a whole number");
    expect(() => parseProfileArgs(["--seconds", "0"])).toThrow("--seconds must be a number > 0");
    expect(() => parseProfileArgs(["--sconds", "1"])).toThrow(/sconds/);
    expect(() => parseBenchArgs(["--soak-on", "prod"])).toThrow('--soak-on must be one of workerd, dev, got "prod"');
    expect(() => parseBenchArgs(["--concurrency", "1,x"])).toThrow('--concurrency must be a number > 0, got "x"');
  });

  it("takes a warm-up of zero, written any way, and refuses a negative one", () => {
    expect(nonNegativeNumber("warmup-seconds", "0")).toBe(0);
    expect(nonNegativeNumber("warmup-seconds", "0.0")).toBe(0);
    expect(nonNegativeNumber("warmup-seconds", "1.5")).toBe(1.5);
    expect(() => nonNegativeNumber("warmup-seconds", "-1")).toThrow('--warmup-seconds must be a number ≥ 0, got "-1"');
    expect(() => nonNegativeNumber("warmup-seconds", "")).toThrow("--warmup-seconds must be a number ≥ 0");
    expect(parseProfileArgs(["--warmup-seconds", "0.0"]).warmupSeconds).toBe(0);
    expect(() => parseProfileArgs(["--warmup-seconds=-0.5"])).toThrow('--warmup-seconds must be a number ≥ 0, got "-0.5"');
  });

  it("reads the bench's options into overrides of its defaults", () => {
    expect(parseBenchArgs(["--quick", "--concurrency", "1,8", "--soak-on", "dev", "--at", "main"])).toEqual({
      quick: true,
      out: undefined,
      soakSeconds: undefined,
      rounds: undefined,
      cellSeconds: undefined,
      concurrency: [1, 8],
      soakTarget: "worker-dev",
      at: "main",
      keepTmp: false,
    });
  });

  it("sends each route the body and credentials its clients send", () => {
    const m = routeRequest("messages", true);
    expect(m.path).toBe("/v1/messages");
    expect(Object.keys(m.headers)).toEqual(["x-api-key", "anthropic-version"]);
    expect(JSON.parse(m.body(3))).toMatchObject({ stream: true, model: "claude-haiku-4-5" });
    const cc = routeRequest("chat-completions", false);
    expect(cc.path).toBe("/v1/chat/completions");
    expect(JSON.parse(cc.body(3)).stream).toBeUndefined();
    const chat = routeRequest("chat", false);
    expect(chat.path).toBe("/api/chat");
    expect(chat.headers.authorization).toMatch(/^Bearer bench-key-/);
    expect(chat.body(1)).not.toBe(chat.body(2));
    expect(Object.keys(JSON.parse(chat.body(1)))).toEqual(["messages"]);
  });
});

/**
 * `npm run profile -- [--route messages|chat-completions|chat] [--stream] [--seconds 5] [--connections 8]
 * [--warmup-seconds 1] [--interval-us 50] [--runtime workerd|dev] [--minify] [--at REV] [--top 25] [--out DIR]
 * [--keep-tmp]`: where the gateway Worker's CPU time goes on one route. Builds the bundle as the bench does (wrangler
 * deploy --dry-run, with its source map), serves it on bare workerd with the V8 inspector on (or under wrangler dev),
 * drives cache-miss load at it with autocannon against the gateway stand-in on 127.0.0.1, samples the isolate over
 * the Chrome DevTools protocol, and prints self and total time per module, file and function, per request. The
 * .cpuprofile (loadable in Chrome DevTools or speedscope) and the printed tables go to bench/results/tmp/.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyWranglerConfig } from "../scripts/local-stack";
import { type ProfileArgs, type ProfileRoute, parseProfileArgs } from "./lib/args";
import { type ProfileSummary, renderProfile, summarizeProfile } from "./lib/cpuprofile";
import { DevtoolsSession, inspectorTargetUrl, profileWhile } from "./lib/inspector";
import { runJsonLoad, sendOnce, type Target } from "./lib/load";
import { versions } from "./lib/machine";
import { freePort } from "./lib/net";
import { killAllNow } from "./lib/procs";
import { formatRatio } from "./lib/report";
import { type WorkerSource, workerSource } from "./lib/source";
import { bundleResolver } from "./lib/sourcemap";
import { CLIENT_KEY, type StandinProcess, startStandinProcess, workerRequest, workerSubjectFor, writeStackConfigs } from "./lib/stack";
import { ratio } from "./lib/stats";
import { startWorkerd, type WorkerdInstance } from "./lib/workerd";
import { uniqueBody, uniqueChatBody } from "./lib/workload";
import { buildBundle, type DevServer, startWranglerDev } from "./lib/wrangler";

/** The request the load sends on each route: the bench's own cache-miss bodies, as an official SDK would send them. */
export function routeRequest(
  route: ProfileRoute,
  stream: boolean,
): { path: string; headers: Record<string, string>; body: (n: number) => string } {
  switch (route) {
    case "messages":
      return { ...workerRequest("messages"), body: (n) => uniqueBody("messages", n, { stream }) };
    case "chat-completions":
      return { ...workerRequest("chatCompletions"), body: (n) => uniqueBody("chatCompletions", n, { stream }) };
    case "chat":
      return { path: "/api/chat", headers: { authorization: `Bearer ${CLIENT_KEY}` }, body: (n) => uniqueChatBody(n, { stream }) };
  }
}

/** "20261201T213000": sortable, safe in a file name. */
function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "");
}

export interface ProfileRun {
  readonly profilePath: string;
  readonly reportPath: string;
  readonly summary: ProfileSummary;
  readonly text: string;
}

export async function runProfile(root: string, a: ProfileArgs, log: (line: string) => void): Promise<ProfileRun> {
  const tmp = mkdtempSync(join(tmpdir(), "ai-gateway-profile-"));
  let standin: StandinProcess | undefined;
  let source: WorkerSource | undefined;
  let workerd: WorkerdInstance | undefined;
  let dev: DevServer | undefined;
  let session: DevtoolsSession | undefined;
  let ok = false;
  try {
    standin = await startStandinProcess(root, tmp);
    source = workerSource(root, a.at);
    log(`profile: Worker source ${source.commit}${source.dirty ? " with uncommitted changes" : ""}; stand-in on ${standin.origin}`);
    const cfgs = writeStackConfigs(root, source.dir, standin, tmp);

    log(`profile: building the bundle (wrangler deploy --dry-run${a.minify ? " --minify" : ""} --upload-source-maps)`);
    const bundleDir = join(tmp, "bundle-worker");
    const files = await buildBundle(root, cfgs.workerCfgPath, bundleDir, join(tmp, "bundle-worker.log"), {
      minify: a.minify,
      sourceMaps: true,
    });
    if (files.length !== 1) throw new Error(`expected one module in the bundle, got ${files.join(", ")}`);
    const bundlePath = join(bundleDir, files[0]!);

    let origin: string;
    let inspectorPort: number;
    if (a.runtime === "workerd") {
      inspectorPort = await freePort();
      workerd = await startWorkerd(
        join(root, "node_modules", "workerd", "bin", "workerd"),
        workerSubjectFor(cfgs, bundlePath),
        join(tmp, "serve-worker"),
        {
          inspectorPort,
        },
      );
      origin = workerd.origin;
    } else {
      const devCfg = join(tmp, "worker.dev.wrangler.json");
      copyWranglerConfig(cfgs.workerCfgPath, devCfg, {
        name: "bench-gateway-worker",
        set: { main: bundlePath, no_bundle: true, upload_source_maps: true },
      });
      dev = await startWranglerDev({
        root,
        name: "worker",
        configPath: devCfg,
        envFile: cfgs.workerEnv,
        tmpDir: tmp,
        readyPath: "/healthz",
      });
      origin = dev.origin;
      inspectorPort = dev.inspectorPort;
    }
    log(`profile: Worker on ${origin} (${a.runtime}), inspector on 127.0.0.1:${inspectorPort}`);

    const req = routeRequest(a.route, a.stream);
    const target: Target = { name: "worker", origin, path: req.path, headers: req.headers };
    let n = 1;
    const probe = await sendOnce(target, req.body(0));
    if (probe.status !== 200) throw new Error(`the Worker answered ${probe.status} on ${req.path}: ${probe.text.slice(0, 300)}`);
    const loadOpts = (durationS: number) => ({ connections: a.connections, durationS, body: () => req.body(n++) });
    if (a.warmupSeconds > 0) {
      log(`profile: warming up for ${a.warmupSeconds} s`);
      await runJsonLoad(target, loadOpts(a.warmupSeconds));
    }
    // The same load with no inspector session: what sampling (and the open session) costs shows beside it.
    const baselineS = Math.min(a.seconds, 2);
    log(`profile: ${baselineS} s of the same load without sampling, for comparison`);
    const baseline = await runJsonLoad(target, loadOpts(baselineS));

    session = await DevtoolsSession.open(await inspectorTargetUrl(inspectorPort));
    const what = `POST ${req.path}${a.stream ? " (stream)" : ""}, cache misses, ${a.connections} connections`;
    log(`profile: sampling every ${a.intervalUs} µs for ${a.seconds} s: ${what}`);
    const { profile, result: load } = await profileWhile(session, a.intervalUs, () => runJsonLoad(target, loadOpts(a.seconds)));
    if (load.ok === 0) throw new Error(`no request succeeded while sampling (status codes: ${JSON.stringify(load.statusCodes)})`);

    const resolver = bundleResolver(bundlePath, source.dir);
    const summary = summarizeProfile(profile, resolver.resolve, load.ok);
    const v = versions(root);
    const title =
      `Profile of the gateway Worker at ${source.commit}${source.dirty ? " + uncommitted changes" : ""} on ${a.runtime === "workerd" ? `workerd ${v.workerd}` : `wrangler dev ${v.wrangler}`}: ` +
      `${what}, ${a.seconds} s; ${load.ok.toLocaleString("en-US")} answered (${Math.round(load.rps)} req/s while sampled; ` +
      `errors ${load.errors + load.timeouts}, non-2xx ${load.non2xx}). ${a.minify ? "Minified" : "Unminified"} bundle, ` +
      `${resolver.mapped ? "frames mapped to sources by its source map" : "no source map: frames keep bundle positions"}.`;
    const notes = [
      `Without an inspector session the same load got ${Math.round(baseline.rps)} req/s; sampled, ${Math.round(load.rps)} req/s ` +
        `(${formatRatio(ratio(load.rps, baseline.rps))}). Sampling and the open session add their own cost, so read the shares; ` +
        `µs per request are of the slowed run.`,
    ];
    const text = `${renderProfile(summary, { top: a.top, title, notes })}\n`;

    const outDir = a.out ?? join(root, "bench", "results", "tmp");
    mkdirSync(outDir, { recursive: true });
    const base = join(outDir, `profile-${a.route}${a.stream ? "-stream" : ""}-${a.runtime}-${source.commit}-${stamp(new Date())}`);
    writeFileSync(`${base}.cpuprofile`, JSON.stringify(profile));
    writeFileSync(`${base}.txt`, text);
    ok = true;
    return { profilePath: `${base}.cpuprofile`, reportPath: `${base}.txt`, summary, text };
  } finally {
    session?.close();
    if (dev) await dev.stop();
    if (workerd) await workerd.stop();
    if (standin) await standin.proc.stop();
    killAllNow();
    source?.cleanup();
    if (ok && !a.keepTmp) rmSync(tmp, { recursive: true, force: true });
    else log(`profile: logs and configs kept in ${tmp}`);
  }
}

async function main(): Promise<void> {
  const a = parseProfileArgs(process.argv.slice(2));
  const run = await runProfile(process.cwd(), a, (l) => console.error(l));
  console.log(run.text);
  console.error(`profile: wrote ${run.profilePath} (open in Chrome DevTools › Performance, or speedscope) and ${run.reportPath}`);
}

if (process.argv[1] && /profile\.ts$/.test(process.argv[1])) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(`profile failed: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}

// npm run bench: the published package (npm pack, run from its tarball) against two baselines on
// the real test cluster — the seeds' kubectl procedure and Helm 4 installing the same rendered
// objects as a chart — interleaved, medians of repeated runs measured in the same run, with
// ratios. Not a test: it reports, and says by how much a target is missed.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadManifests } from "../src/render/manifests.js";
import { toYaml } from "../src/render/output.js";
import { clusterScopedName, migrationJobName, renderPlan } from "../src/render/render.js";
import { STAGES } from "../src/render/stages.js";
import { PACKAGE_ROOT } from "../src/paths.js";
import { resolveConfig } from "../src/config/resolve.js";

const REPS = Number(process.env["MATHISON_BENCH_REPS"] ?? 5);
const scripts = join(PACKAGE_ROOT, "scripts", "cluster");
const binDir = execFileSync("bash", ["-c", `. "${scripts}/versions.sh" && printf %s "$CLUSTER_BIN_DIR"`]).toString();
const kubectlPath = join(binDir, "kubectl");
const helmPath = process.env["MATHISON_BENCH_HELM"] ?? join(process.env["HOME"] ?? "", ".cache", "mathison-install", "helm-v4.3.1", "helm");
const probe = join(PACKAGE_ROOT, "dist", "bench", "rss-probe.js");

function run(cmd: string, args: readonly string[], env: Record<string, string> = {}, cwd?: string): Promise<{ ms: number; code: number; out: string }> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], ...(cwd ? { cwd } : {}) });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.on("error", reject);
    child.on("close", (code) => resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, code: code ?? -1, out }));
  });
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function must(p: Promise<{ ms: number; code: number; out: string }>, what: string): Promise<number> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}):\n${r.out}`);
  return r.ms;
}

function benchConfig(namespace: string) {
  const resolved = resolveConfig([{ namespace: { value: namespace, field: "bench" }, domain: { value: `${namespace}.bench.test`, field: "bench" } }]);
  if (!resolved.ok) throw new Error("config");
  return resolved.config;
}

/** The seeds' README procedure: one `kubectl apply -f` per manifest file, `kubectl rollout status`/`wait` between steps. */
async function kubectlProcedure(kubeconfig: string, namespace: string): Promise<number> {
  const config = benchConfig(namespace);
  const plan = renderPlan(config);
  const manifests = loadManifests();
  const dir = mkdtempSync(join(tmpdir(), "mathison-bench-"));
  const files: string[][] = [];
  for (const [i, stage] of STAGES.entries()) {
    const objects = [...plan.stages[i]!.objects];
    files.push(stage.files.map((f) => {
      const path = join(dir, f);
      writeFileSync(path, objects.splice(0, manifests.get(f)!.length).map(toYaml).join("---\n"), { mode: 0o600 });
      return path;
    }));
  }
  const k = (...args: string[]) => must(run(kubectlPath, ["--kubeconfig", kubeconfig, ...args]), `kubectl ${args.join(" ")}`);
  const ns = ["-n", namespace];
  const start = performance.now();
  for (const f of [...files[0]!, ...files[1]!, ...files[2]!]) await k("apply", "-f", f);
  await k(...ns, "rollout", "status", "statefulset/postgres", "--timeout=300s");
  await k(...ns, "rollout", "status", "statefulset/redis", "--timeout=300s");
  for (const f of files[3]!) await k("apply", "-f", f);
  await k(...ns, "wait", "--for=condition=complete", `job/${migrationJobName(config.webImage)}`, "--timeout=300s");
  for (const f of files[4]!) await k("apply", "-f", f);
  await k(...ns, "rollout", "status", "deployment/mathison-web", "--timeout=300s");
  await k(...ns, "rollout", "status", "deployment/mathison-worker", "--timeout=300s");
  for (const f of files[5]!) await k("apply", "-f", f);
  return performance.now() - start;
}

/** The same rendered objects as a Helm chart (the namespace is Helm's --create-namespace). */
function helmChart(namespace: string): string {
  const dir = mkdtempSync(join(tmpdir(), "mathison-bench-chart-"));
  mkdirSync(join(dir, "templates"));
  writeFileSync(join(dir, "Chart.yaml"), "apiVersion: v2\nname: mathison\nversion: 0.1.0\n");
  const objects = renderPlan(benchConfig(namespace)).stages.flatMap((s) => s.objects).filter((o) => o.kind !== "Namespace");
  writeFileSync(join(dir, "templates", "objects.yaml"), objects.map(toYaml).join("---\n"), { mode: 0o600 });
  return dir;
}

async function helm(kubeconfig: string, verb: "install" | "upgrade", namespace: string, chart: string): Promise<number> {
  const extra = verb === "install" ? ["--create-namespace"] : [];
  return must(run(helmPath, [verb, "mathison", chart, "--namespace", namespace, ...extra, "--wait=watcher", "--wait-for-jobs", "--timeout=5m", "--kubeconfig", kubeconfig]), `helm ${verb}`);
}

/**
 * From the spawn of a command to its first connection to the API server: a TCP relay in front
 * of the real one notes when the first connection arrives.
 */
async function timeToFirstRequest(launcher: string, kubeconfig: string): Promise<number> {
  const server = new URL(/server: (\S+)/.exec(readFileSync(kubeconfig, "utf8"))![1]!);
  let first: number | undefined;
  let started = 0;
  const relay = createServer((socket) => {
    first ??= performance.now() - started;
    const upstream = createConnection({ host: server.hostname, port: Number(server.port) });
    socket.pipe(upstream).pipe(socket);
    socket.on("error", () => upstream.destroy());
    upstream.on("error", () => socket.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
  const port = (relay.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), "mathison-bench-kc-"));
  const relayed = join(dir, "kubeconfig");
  writeFileSync(relayed, readFileSync(kubeconfig, "utf8").replace(server.origin, `https://127.0.0.1:${port}`), { mode: 0o600 });
  started = performance.now();
  await must(run(process.execPath, [launcher, "status", "--namespace", "bench-first-request", "--kubeconfig", relayed]).then((r) => ({ ...r, code: r.code === 8 ? 0 : r.code })), "status");
  relay.close();
  rmSync(dir, { recursive: true, force: true });
  return first ?? Number.NaN;
}

/** The package as published: `npm pack`'s tarball, unpacked (it has no dependencies to install). */
function packed(): { tarball: string; launcher: string; unpackedBytes: number } {
  const dir = mkdtempSync(join(tmpdir(), "mathison-bench-pack-"));
  const info = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", dir], { cwd: PACKAGE_ROOT, stdio: ["ignore", "pipe", "inherit"] }).toString())[0] as { filename: string; unpackedSize: number };
  const tarball = join(dir, info.filename);
  execFileSync("tar", ["-xzf", tarball, "-C", dir]);
  return { tarball, launcher: join(dir, "package", "bin", "mathison-install.js"), unpackedBytes: info.unpackedSize };
}

/** `npx` of the tarball with an empty npm cache: what a first-time user waits for before the program runs. */
async function npxCold(tarball: string): Promise<number> {
  const cache = mkdtempSync(join(tmpdir(), "mathison-bench-npm-"));
  const cwd = mkdtempSync(join(tmpdir(), "mathison-bench-cwd-"));
  const ms = await must(run("npx", ["--yes", `--package=${tarball}`, "--", "mathison-install", "--version"], { npm_config_cache: cache, npm_config_update_notifier: "false", npm_config_loglevel: "error" }, cwd), "npx");
  rmSync(cache, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });
  return ms;
}

async function main(): Promise<void> {
  let kubeconfig = process.env["MATHISON_TEST_KUBECONFIG"];
  let stateDir: string | undefined;
  if (!kubeconfig) {
    stateDir = mkdtempSync(join(tmpdir(), "mathison-bench-cluster-"));
    const out = execFileSync("bash", [join(scripts, "up.sh")], { env: { ...process.env, MATHISON_CLUSTER_DIR: stateDir }, stdio: ["ignore", "pipe", "inherit"] }).toString();
    kubeconfig = /^export KUBECONFIG=(.+)$/m.exec(out)![1]!;
  }
  const pkg = packed();
  const launcher = pkg.launcher;
  const env = { KUBECONFIG: kubeconfig, ANTHROPIC_API_KEY: "sk-ant-bench", CI: "true" };
  const samples = {
    install: [] as number[], kubectl: [] as number[], helm: [] as number[], noop: [] as number[], helmNoop: [] as number[],
    rssKiB: [] as number[], version: [] as number[], firstRequest: [] as number[], npx: [] as number[],
  };
  const cleanups: string[] = [];
  try {
    for (let i = 0; i < REPS; i++) {
      const ns = `bench-install-${i}-${process.pid}`;
      cleanups.push(ns);
      const rssFile = join(tmpdir(), `mathison-rss-${process.pid}-${i}`);
      const args = ["--import", probe, launcher, "install", "--non-interactive", "--skip-verify", "--namespace", ns, "--domain", `${ns}.bench.test`];
      samples.install.push(await must(run(process.execPath, args, { ...env, MATHISON_BENCH_RSS_FILE: rssFile }), "install"));
      samples.rssKiB.push(Number(readFileSync(rssFile, "utf8")));
      samples.noop.push(await must(run(process.execPath, args, { ...env, MATHISON_BENCH_RSS_FILE: rssFile }), "no-op re-run"));
      samples.rssKiB.push(Number(readFileSync(rssFile, "utf8")));
      const kns = `bench-kubectl-${i}-${process.pid}`;
      cleanups.push(kns);
      samples.kubectl.push(await kubectlProcedure(kubeconfig, kns));
      const hns = `bench-helm-${i}-${process.pid}`;
      cleanups.push(hns);
      const chart = helmChart(hns);
      samples.helm.push(await helm(kubeconfig, "install", hns, chart));
      samples.helmNoop.push(await helm(kubeconfig, "upgrade", hns, chart));
      rmSync(chart, { recursive: true, force: true });
      samples.npx.push(await npxCold(pkg.tarball));
      samples.firstRequest.push(await timeToFirstRequest(launcher, kubeconfig));
      process.stderr.write(`rep ${i + 1}/${REPS}: install ${samples.install.at(-1)!.toFixed(0)} ms, kubectl ${samples.kubectl.at(-1)!.toFixed(0)} ms, helm ${samples.helm.at(-1)!.toFixed(0)} ms, no-op ${samples.noop.at(-1)!.toFixed(0)} ms, helm no-op ${samples.helmNoop.at(-1)!.toFixed(0)} ms, npx ${samples.npx.at(-1)!.toFixed(0)} ms, first request ${samples.firstRequest.at(-1)!.toFixed(0)} ms\n`);
    }
    for (let i = 0; i < Math.max(10, REPS); i++) samples.version.push(await must(run(process.execPath, [launcher, "--version"]), "--version"));
  } finally {
    for (const ns of cleanups) {
      await run(kubectlPath, ["--kubeconfig", kubeconfig, "delete", "namespace", ns, "--wait=false"]);
      await run(kubectlPath, ["--kubeconfig", kubeconfig, "delete", `clusterrole/${clusterScopedName(ns)}`, `clusterrolebinding/${clusterScopedName(ns)}`, "--ignore-not-found"]);
    }
    if (stateDir) execFileSync("bash", [join(scripts, "down.sh")], { env: { ...process.env, MATHISON_CLUSTER_DIR: stateDir }, stdio: "inherit" });
  }
  report(samples, pkg.unpackedBytes);
}

type Samples = Record<"install" | "kubectl" | "helm" | "noop" | "helmNoop" | "rssKiB" | "version" | "firstRequest" | "npx", number[]>;

/** One row per target: the median, the baseline ratio, the target, and by how much it is missed. */
function report(samples: Samples, unpackedBytes: number): void {
  const m = {
    install: median(samples.install), kubectl: median(samples.kubectl), helm: median(samples.helm), noop: median(samples.noop), helmNoop: median(samples.helmNoop),
    rssMB: Math.max(...samples.rssKiB) / 1024, version: median(samples.version), firstRequest: median(samples.firstRequest), npx: median(samples.npx),
    installedMB: unpackedBytes / 1e6,
  };
  const ratio = (a: number, b: number) => a / b;
  const rows: { what: string; value: string; ratio: string; target: string; actual: number; limit: number }[] = [
    { what: "(a) fresh install, mathison-install --non-interactive", value: `${m.install.toFixed(0)} ms`, ratio: `${ratio(m.install, m.helm).toFixed(2)} × (c)`, target: "≤ 0.90 × (c)", actual: ratio(m.install, m.helm), limit: 0.9 },
    { what: "    the same against (b)", value: "", ratio: `${ratio(m.install, m.kubectl).toFixed(2)} × (b)`, target: "≤ 0.40 × (b)", actual: ratio(m.install, m.kubectl), limit: 0.4 },
    { what: "(b) seeds' procedure: kubectl apply per file + rollout status/wait", value: `${m.kubectl.toFixed(0)} ms`, ratio: "1.00 × (b)", target: "baseline", actual: 0, limit: 1 },
    { what: "(c) helm 4 install --wait=watcher --wait-for-jobs, same objects", value: `${m.helm.toFixed(0)} ms`, ratio: "1.00 × (c)", target: "baseline", actual: 0, limit: 1 },
    { what: "(d) no-op re-run", value: `${m.noop.toFixed(0)} ms`, ratio: `${ratio(m.noop, m.helmNoop).toFixed(2)} × (e)`, target: "≤ 0.50 × (e)", actual: ratio(m.noop, m.helmNoop), limit: 0.5 },
    { what: "(e) helm 4 upgrade, nothing changed", value: `${m.helmNoop.toFixed(0)} ms`, ratio: "1.00 × (e)", target: "baseline", actual: 0, limit: 1 },
    { what: "(f) npx of the tarball, empty npm cache, --version", value: `${m.npx.toFixed(0)} ms`, ratio: "", target: "≤ 2000 ms", actual: m.npx, limit: 2000 },
    { what: "(g) installed size of the package", value: `${m.installedMB.toFixed(1)} MB`, ratio: "", target: "≤ 10 MB", actual: m.installedMB, limit: 10 },
    { what: "(h) mathison-install --version", value: `${m.version.toFixed(0)} ms`, ratio: "", target: "≤ 60 ms", actual: m.version, limit: 60 },
    { what: "(i) spawn to the first API request", value: `${m.firstRequest.toFixed(0)} ms`, ratio: "", target: "≤ 150 ms", actual: m.firstRequest, limit: 150 },
    { what: "(j) installer peak RSS (max of all runs)", value: `${m.rssMB.toFixed(1)} MB`, ratio: "", target: "≤ 90 MB", actual: m.rssMB, limit: 90 },
  ];
  const verdict = (r: (typeof rows)[number]) => (r.actual <= r.limit ? "ok" : `MISSED by ${(((r.actual - r.limit) / r.limit) * 100).toFixed(0)} %`);
  const table = rows.map((r) => [r.what, r.value, r.ratio, r.target, verdict(r)]);
  const widths = [0, 1, 2, 3].map((c) => Math.max(...table.map((r) => r[c]!.length)));
  process.stdout.write(`medians of ${REPS} repetitions, interleaved (--version: ${samples.version.length}), node ${process.version}, the package as packed\n`);
  for (const r of table) process.stdout.write(`${r.slice(0, 4).map((cell, c) => cell.padEnd(widths[c]!)).join("  ")}  ${r[4]}\n`);
  const dir = join(PACKAGE_ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, reps: REPS, medians: m, verdicts: Object.fromEntries(rows.map((r) => [r.what.trim(), verdict(r)])), samples }, null, 2)}\n`);
  process.stdout.write(`wrote ${file}\n`);
}

await main();

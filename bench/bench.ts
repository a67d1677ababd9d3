// npm run bench: the installer against the seeds' kubectl procedure on the real test cluster,
// medians of repeated runs measured in the same run, with ratios. Not a test: it reports.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
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
const launcher = join(PACKAGE_ROOT, "bin", "mathison-install.js");
const probe = join(PACKAGE_ROOT, "dist", "bench", "rss-probe.js");

function run(cmd: string, args: readonly string[], env: Record<string, string> = {}): Promise<{ ms: number; code: number; out: string }> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
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

/** The seeds' README procedure: one `kubectl apply -f` per manifest file, `kubectl rollout status`/`wait` between steps. */
async function kubectlProcedure(kubeconfig: string, namespace: string): Promise<number> {
  const resolved = resolveConfig([{ namespace: { value: namespace, field: "bench" }, domain: { value: `${namespace}.bench.test`, field: "bench" } }]);
  if (!resolved.ok) throw new Error("config");
  const plan = renderPlan(resolved.config);
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
  await k(...ns, "wait", "--for=condition=complete", `job/${migrationJobName(resolved.config.webImage)}`, "--timeout=300s");
  for (const f of files[4]!) await k("apply", "-f", f);
  await k(...ns, "rollout", "status", "deployment/mathison-web", "--timeout=300s");
  await k(...ns, "rollout", "status", "deployment/mathison-worker", "--timeout=300s");
  for (const f of files[5]!) await k("apply", "-f", f);
  return performance.now() - start;
}

async function main(): Promise<void> {
  let kubeconfig = process.env["MATHISON_TEST_KUBECONFIG"];
  let stateDir: string | undefined;
  if (!kubeconfig) {
    stateDir = mkdtempSync(join(tmpdir(), "mathison-bench-cluster-"));
    const out = execFileSync("bash", [join(scripts, "up.sh")], { env: { ...process.env, MATHISON_CLUSTER_DIR: stateDir }, stdio: ["ignore", "pipe", "inherit"] }).toString();
    kubeconfig = /^export KUBECONFIG=(.+)$/m.exec(out)![1]!;
  }
  const env = { KUBECONFIG: kubeconfig, ANTHROPIC_API_KEY: "sk-ant-bench", CI: "true" };
  const samples = { install: [] as number[], kubectl: [] as number[], noop: [] as number[], rssKiB: [] as number[], version: [] as number[] };
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
      process.stderr.write(`rep ${i + 1}/${REPS}: install ${samples.install.at(-1)!.toFixed(0)} ms, kubectl ${samples.kubectl.at(-1)!.toFixed(0)} ms, no-op ${samples.noop.at(-1)!.toFixed(0)} ms\n`);
    }
    for (let i = 0; i < Math.max(10, REPS); i++) samples.version.push(await must(run(process.execPath, [launcher, "--version"]), "--version"));
  } finally {
    for (const ns of cleanups) {
      await run(kubectlPath, ["--kubeconfig", kubeconfig, "delete", "namespace", ns, "--wait=false"]);
      await run(kubectlPath, ["--kubeconfig", kubeconfig, "delete", `clusterrole/${clusterScopedName(ns)}`, `clusterrolebinding/${clusterScopedName(ns)}`, "--ignore-not-found"]);
    }
    if (stateDir) execFileSync("bash", [join(scripts, "down.sh")], { env: { ...process.env, MATHISON_CLUSTER_DIR: stateDir }, stdio: "inherit" });
  }

  const m = {
    install: median(samples.install), kubectl: median(samples.kubectl), noop: median(samples.noop),
    rssMB: Math.max(...samples.rssKiB) / 1024, version: median(samples.version),
  };
  const rows: [string, string, string, string][] = [
    ["(a) fresh install, mathison-install --non-interactive", `${m.install.toFixed(0)} ms`, `${(m.install / m.kubectl).toFixed(2)} × (b)`, "≤ 0.60 × (b)"],
    ["(b) seeds' procedure: kubectl apply per file + rollout status/wait", `${m.kubectl.toFixed(0)} ms`, "1.00 × (b)", "baseline"],
    ["(c) no-op re-run", `${m.noop.toFixed(0)} ms`, `${(m.noop / m.kubectl).toFixed(2)} × (b)`, "≤ 2000 ms"],
    ["(d) installer peak RSS (max of all runs)", `${m.rssMB.toFixed(1)} MB`, "", "≤ 150 MB"],
    ["(e) cold start of mathison-install --version", `${m.version.toFixed(0)} ms`, "", "≤ 250 ms"],
  ];
  const pass = [m.install <= 0.6 * m.kubectl, true, m.noop <= 2000, m.rssMB <= 150, m.version <= 250];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  process.stdout.write(`medians of ${REPS} repetitions (--version: ${samples.version.length}), node ${process.version}\n`);
  rows.forEach((r, i) => process.stdout.write(`${r.map((cell, c) => cell.padEnd(widths[c]!)).join("  ")}  ${pass[i] ? "ok" : "MISSED"}\n`));
  const dir = join(PACKAGE_ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, reps: REPS, medians: m, targetsMet: pass, samples }, null, 2)}\n`);
  process.stdout.write(`wrote ${file}\n`);
}

await main();

// npm run bench: the published package (npm pack, run from its tarball) against two baselines on
// the real test cluster — the seeds' kubectl procedure and Helm 4 installing the same rendered
// objects as a chart — interleaved, medians of repeated runs measured in the same run, with
// ratios. Not a test: it reports, and says by how much a target is missed.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { loadManifests } from "../src/render/manifests.js";
import { toYaml } from "../src/render/output.js";
import { clusterScopedName, migrationJobName } from "../src/render/customise.js";
import { renderPlan } from "../src/render/render.js";
import { STAGES } from "../src/render/stages.js";
import { resolveConfig } from "../src/config/resolve.js";
import { LOAD_NAMESPACE, loadCluster } from "./load.js";
import { PACKAGE_ROOT } from "../src/base/paths.js";

const REPS = Number(process.env["MATHISON_BENCH_REPS"] ?? 5);
/** The big-cluster phase: `0` skips it; otherwise nodes and pods as `300x10000`. */
const SCALE = process.env["MATHISON_BENCH_SCALE"] ?? "300x10000";
const scripts = join(PACKAGE_ROOT, "scripts", "cluster");
const binDir = execFileSync("bash", ["-c", `. "${scripts}/versions.sh" && printf %s "$CLUSTER_BIN_DIR"`]).toString();
const kubectlPath = join(binDir, "kubectl");
const helmPath =
  process.env["MATHISON_BENCH_HELM"] ??
  join(process.env["HOME"] ?? "", ".cache", "mathison-install", "helm-v4.3.1", "helm");
const probe = join(PACKAGE_ROOT, "dist", "bench", "rss-probe.cjs");

function run(
  cmd: string,
  args: readonly string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<{ ms: number; code: number; out: string }> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      ...(cwd ? { cwd } : {}),
    });
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
  const resolved = resolveConfig([
    { namespace: { value: namespace, field: "bench" }, domain: { value: `${namespace}.bench.test`, field: "bench" } },
  ]);
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
    files.push(
      stage.files.map((f) => {
        const path = join(dir, f);
        writeFileSync(path, objects.splice(0, manifests.get(f)!.length).map(toYaml).join("---\n"), { mode: 0o600 });
        return path;
      }),
    );
  }
  const k = (...args: string[]) =>
    must(run(kubectlPath, ["--kubeconfig", kubeconfig, ...args]), `kubectl ${args.join(" ")}`);
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
  const objects = renderPlan(benchConfig(namespace))
    .stages.flatMap((s) => s.objects)
    .filter((o) => o.kind !== "Namespace");
  writeFileSync(join(dir, "templates", "objects.yaml"), objects.map(toYaml).join("---\n"), { mode: 0o600 });
  return dir;
}

async function helm(
  kubeconfig: string,
  verb: "install" | "upgrade",
  namespace: string,
  chart: string,
): Promise<number> {
  const extra = verb === "install" ? ["--create-namespace"] : [];
  return must(
    run(helmPath, [
      verb,
      "mathison",
      chart,
      "--namespace",
      namespace,
      ...extra,
      "--wait=watcher",
      "--wait-for-jobs",
      "--timeout=5m",
      "--kubeconfig",
      kubeconfig,
    ]),
    `helm ${verb}`,
  );
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
  writeFileSync(relayed, readFileSync(kubeconfig, "utf8").replace(server.origin, `https://127.0.0.1:${port}`), {
    mode: 0o600,
  });
  started = performance.now();
  await must(
    run(process.execPath, [launcher, "status", "--namespace", "bench-first-request", "--kubeconfig", relayed]).then(
      (r) => ({ ...r, code: r.code === 8 ? 0 : r.code }),
    ),
    "status",
  );
  relay.close();
  rmSync(dir, { recursive: true, force: true });
  return first ?? Number.NaN;
}

/** The package as published: `npm pack`'s tarball, unpacked (it has no dependencies to install). */
function packed(): { tarball: string; launcher: string; unpackedBytes: number } {
  const dir = mkdtempSync(join(tmpdir(), "mathison-bench-pack-"));
  const info = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--pack-destination", dir], {
      cwd: PACKAGE_ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    }).toString(),
  )[0] as { filename: string; unpackedSize: number };
  const tarball = join(dir, info.filename);
  execFileSync("tar", ["-xzf", tarball, "-C", dir]);
  return { tarball, launcher: join(dir, "package", "bin", "mathison-install.js"), unpackedBytes: info.unpackedSize };
}

/** `npx` of the tarball with an empty npm cache: what a first-time user waits for before the program runs. */
async function npxCold(tarball: string): Promise<number> {
  const cache = mkdtempSync(join(tmpdir(), "mathison-bench-npm-"));
  const cwd = mkdtempSync(join(tmpdir(), "mathison-bench-cwd-"));
  const ms = await must(
    run(
      "npx",
      ["--yes", `--package=${tarball}`, "--", "mathison-install", "--version"],
      { npm_config_cache: cache, npm_config_update_notifier: "false", npm_config_loglevel: "error" },
      cwd,
    ),
    "npx",
  );
  rmSync(cache, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });
  return ms;
}

/** Where a fresh install's time goes, from its JSON events: the stages' own time (the cluster working) and the installer's around them. */
interface TimeSplit {
  readonly wallMs: number;
  /** Σ of the stages' elapsed time: applying and waiting for the cluster. */
  readonly stagesMs: number;
  /** Spawn to the first stage: start-up, preflight, plan, and the writes before the first stage (namespace, lock, the run's record). */
  readonly beforeMs: number;
  /**
   * Spawn to the first write: the plan event, which a run without questions follows at once with
   * its first write (the namespace, or on an upgrade the lock); the dry runs before it write nothing.
   */
  readonly firstWriteMs: number;
  /** Between one stage ending and the next starting. */
  readonly betweenMs: number;
  /** The last stage's end to the exit: record, clean-up, exit. */
  readonly afterMs: number;
}

function timeSplit(spawnedAt: number, exitedAt: number, out: string): TimeSplit {
  const events = out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { event: string; status?: string; ts: string });
  const plan = events.find((e) => e.event === "plan");
  const stages = events.filter((e) => e.event === "stage").map((e) => ({ status: e.status, at: Date.parse(e.ts) }));
  const running = stages.filter((s) => s.status === "running").map((s) => s.at);
  const done = stages.filter((s) => s.status === "done").map((s) => s.at);
  const stagesMs = done.reduce((n, d, i) => n + (d - running[i]!), 0);
  const betweenMs = running.slice(1).reduce((n, r, i) => n + (r - done[i]!), 0);
  return {
    wallMs: exitedAt - spawnedAt,
    stagesMs,
    beforeMs: running[0]! - spawnedAt,
    firstWriteMs: Date.parse(plan!.ts) - spawnedAt,
    betweenMs,
    afterMs: exitedAt - done.at(-1)!,
  };
}

/** A run of the installer with its JSON events, and when it was spawned and exited (wall clock, as the events' `ts`). */
async function installRun(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ ms: number; split: TimeSplit }> {
  const spawnedAt = Date.now();
  const r = await run(process.execPath, args, env);
  const exitedAt = Date.now();
  if (r.code !== 0) throw new Error(`install failed (${r.code}):\n${r.out}`);
  return { ms: r.ms, split: timeSplit(spawnedAt, exitedAt, r.out) };
}

async function main(): Promise<void> {
  let kubeconfig = process.env["MATHISON_TEST_KUBECONFIG"];
  let stateDir: string | undefined;
  if (!kubeconfig) {
    stateDir = mkdtempSync(join(tmpdir(), "mathison-bench-cluster-"));
    const out = execFileSync("bash", [join(scripts, "up.sh")], {
      env: { ...process.env, MATHISON_CLUSTER_DIR: stateDir },
      stdio: ["ignore", "pipe", "inherit"],
    }).toString();
    kubeconfig = /^export KUBECONFIG=(.+)$/m.exec(out)![1]!;
  }
  const pkg = packed();
  const launcher = pkg.launcher;
  const env = { KUBECONFIG: kubeconfig, ANTHROPIC_API_KEY: "sk-ant-bench", CI: "true" };
  const samples = {
    install: [] as number[],
    kubectl: [] as number[],
    helm: [] as number[],
    noop: [] as number[],
    helmNoop: [] as number[],
    rssKiB: [] as number[],
    version: [] as number[],
    firstRequest: [] as number[],
    npx: [] as number[],
    preflight: [] as number[],
    overheadPct: [] as number[],
    strictOverheadPct: [] as number[],
    splits: [] as TimeSplit[],
    backup: {
      ms: [] as number[],
      rssKiB: [] as number[],
      dbBytes: 0,
      dumpBytes: 0,
      restore: { ms: [] as number[], dbStepMs: [] as number[], rssKiB: [] as number[] },
    },
    loaded: {
      install: [] as number[],
      noop: [] as number[],
      helm: [] as number[],
      preflight: [] as number[],
      rssKiB: [] as number[],
    },
  };
  const cleanups: string[] = [];
  try {
    for (let i = 0; i < REPS; i++) {
      const ns = `bench-install-${i}-${process.pid}`;
      cleanups.push(ns);
      const rssFile = join(tmpdir(), `mathison-rss-${process.pid}-${i}`);
      const args = [
        "--require",
        probe,
        launcher,
        "install",
        "--non-interactive",
        "--skip-verify",
        "--output",
        "json",
        "--namespace",
        ns,
        "--domain",
        `${ns}.bench.test`,
      ];
      samples.preflight.push(
        await must(
          run(process.execPath, [launcher, "preflight", "--namespace", ns, "--domain", `${ns}.bench.test`], env),
          "preflight",
        ),
      );
      const fresh = await installRun(args, { ...env, MATHISON_BENCH_RSS_FILE: rssFile });
      samples.install.push(fresh.ms);
      samples.splits.push(fresh.split);
      const s = fresh.split;
      samples.overheadPct.push(((s.firstWriteMs + s.betweenMs + s.afterMs) / s.wallMs) * 100);
      samples.strictOverheadPct.push(((s.wallMs - s.stagesMs) / s.wallMs) * 100);
      samples.rssKiB.push(Number(readFileSync(rssFile, "utf8")));
      samples.noop.push(
        await must(run(process.execPath, args, { ...env, MATHISON_BENCH_RSS_FILE: rssFile }), "no-op re-run"),
      );
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
      const last = (xs: number[]) => `${xs.at(-1)!.toFixed(0)} ms`;
      const said = Object.entries({
        install: samples.install,
        kubectl: samples.kubectl,
        helm: samples.helm,
        "no-op": samples.noop,
      })
        .concat([
          ["helm no-op", samples.helmNoop],
          ["npx", samples.npx],
          ["first request", samples.firstRequest],
        ])
        .map(([what, xs]) => `${what} ${last(xs as number[])}`);
      process.stderr.write(`rep ${i + 1}/${REPS}: ${said.join(", ")}\n`);
    }
    for (let i = 0; i < Math.max(10, REPS); i++)
      samples.version.push(await must(run(process.execPath, [launcher, "--version"]), "--version"));
    if (BACKUP_MB > 0) await backupPhase(kubeconfig, launcher, env, `bench-install-0-${process.pid}`, samples.backup);
    if (SCALE !== "0") await loadedPhase(kubeconfig, launcher, env, samples.loaded, cleanups);
  } finally {
    for (const ns of cleanups) {
      await run(kubectlPath, ["--kubeconfig", kubeconfig, "delete", "namespace", ns, "--wait=false"]);
      await run(kubectlPath, [
        "--kubeconfig",
        kubeconfig,
        "delete",
        `clusterrole/${clusterScopedName(ns)}`,
        `clusterrolebinding/${clusterScopedName(ns)}`,
        "--ignore-not-found",
      ]);
    }
    if (SCALE !== "0" && !stateDir) {
      await run(kubectlPath, ["--kubeconfig", kubeconfig, "delete", "namespace", LOAD_NAMESPACE, "--wait=false"]);
      await run(kubectlPath, [
        "--kubeconfig",
        kubeconfig,
        "delete",
        "nodes",
        "-l",
        "bench.mathison.dev/load=true",
        "--wait=false",
      ]);
    }
    if (stateDir)
      execFileSync("bash", [join(scripts, "down.sh")], {
        env: { ...process.env, MATHISON_CLUSTER_DIR: stateDir },
        stdio: "inherit",
      });
  }
  report(samples, pkg.unpackedBytes);
}

/** The backup phase's database: about this many MB of incompressible rows (`MATHISON_BENCH_BACKUP_MB`, `0` skips it). */
const BACKUP_MB = Number(process.env["MATHISON_BENCH_BACKUP_MB"] ?? 200);

/**
 * `backup` of a database of BACKUP_MB (random text, so neither PostgreSQL nor pg_dump shrinks
 * it much) in the test cluster's real PostgreSQL, through the installed package: its time, the
 * rate against the database's size, and the installer's peak RSS while it streams.
 */
async function backupPhase(
  kubeconfig: string,
  launcher: string,
  env: Record<string, string>,
  namespace: string,
  out: Samples["backup"],
): Promise<void> {
  const backing = Object.fromEntries(
    readFileSync(join(dirname(kubeconfig), "backing", "env"), "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split("=", 2) as [string, string]),
  );
  const pg = { ...process.env, PGHOST: backing["PGHOST"], PGPORT: backing["PGPORT"] };
  const psql = (sql: string) =>
    execFileSync("psql", ["-U", "mathison", "-d", "mathison", "-tAc", sql], { env: pg }).toString().trim();
  const rows = BACKUP_MB * 1024;
  psql(
    `DROP TABLE IF EXISTS bench_backup; CREATE TABLE bench_backup AS SELECT g AS id, (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 32) WHERE g > 0) AS body FROM generate_series(1, ${rows}) g`,
  );
  // A database that has been running: autovacuum's first pass over the fresh table (hint bits,
  // the visibility map) is done before the clock starts, not on the same two cores as a backup.
  psql("VACUUM (ANALYZE, FREEZE) bench_backup");
  out.dbBytes = Number(psql("SELECT pg_database_size(current_database())"));
  const dir = mkdtempSync(join(tmpdir(), "mathison-bench-backup-"));
  try {
    for (let i = 0; i < 3; i++) {
      const file = join(dir, `b${i}.dump`);
      const rssFile = join(tmpdir(), `mathison-rss-backup-${process.pid}-${i}`);
      out.ms.push(
        await must(
          run(process.execPath, ["--require", probe, launcher, "backup", "--namespace", namespace, "--out", file], {
            ...env,
            MATHISON_BENCH_RSS_FILE: rssFile,
          }),
          "backup",
        ),
      );
      out.rssKiB.push(Number(readFileSync(rssFile, "utf8")));
      out.dumpBytes = statSync(file).size;
      if (i < 2) rmSync(file);
      process.stderr.write(
        `backup ${i + 1}/3: ${(out.ms.at(-1)! / 1000).toFixed(1)} s, ${(out.rssKiB.at(-1)! / 1024).toFixed(1)} MB peak\n`,
      );
    }
    for (let i = 0; i < 3; i++) await restoreOnce(launcher, env, namespace, join(dir, "b2.dump"), i, out.restore);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    psql("DROP TABLE IF EXISTS bench_backup");
  }
}

/**
 * `restore` of the backup phase's dump into the same install: the whole command (stop, the
 * database, the migration, start, verify) and its database step alone (from the step events'
 * times), and the installer's peak RSS. The checklist fails on the Ingress here (exit 10).
 */
async function restoreOnce(
  launcher: string,
  env: Record<string, string>,
  namespace: string,
  file: string,
  i: number,
  out: Samples["backup"]["restore"],
): Promise<void> {
  const rssFile = join(tmpdir(), `mathison-rss-restore-${process.pid}-${i}`);
  const r = await run(
    process.execPath,
    ["--require", probe, launcher, "restore", file, "--namespace", namespace, "--yes", "--output", "json"],
    { ...env, MATHISON_BENCH_RSS_FILE: rssFile },
  );
  if (r.code !== 0 && r.code !== 10) throw new Error(`restore failed (${r.code}):\n${r.out}`);
  const at = (status: string) =>
    Date.parse(
      r.out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l))
        .find((e) => e.event === "step" && e.step === "restore" && e.status === status).ts,
    );
  out.ms.push(r.ms);
  out.dbStepMs.push(at("done") - at("running"));
  out.rssKiB.push(Number(readFileSync(rssFile, "utf8")));
  process.stderr.write(
    `restore ${i + 1}/3: ${(r.ms / 1000).toFixed(1)} s (database step ${(out.dbStepMs.at(-1)! / 1000).toFixed(1)} s), ${(out.rssKiB.at(-1)! / 1024).toFixed(1)} MB peak\n`,
  );
}

/** The same measures on a big cluster: SCALE nodes and pods of someone else's, then preflight, install, no-op and Helm, interleaved. */
async function loadedPhase(
  kubeconfig: string,
  launcher: string,
  env: Record<string, string>,
  loaded: Samples["loaded"],
  cleanups: string[],
): Promise<void> {
  const [nodes, pods] = SCALE.split("x").map(Number) as [number, number];
  await loadCluster(kubeconfig, nodes, pods, (line) => process.stderr.write(`${line}\n`));
  for (let i = 0; i < REPS; i++) {
    const ns = `bench-loaded-${i}-${process.pid}`;
    cleanups.push(ns);
    const rssFile = join(tmpdir(), `mathison-rss-loaded-${process.pid}-${i}`);
    const args = [
      "--require",
      probe,
      launcher,
      "install",
      "--non-interactive",
      "--skip-verify",
      "--namespace",
      ns,
      "--domain",
      `${ns}.bench.test`,
    ];
    loaded.preflight.push(
      await must(
        run(
          process.execPath,
          ["--require", probe, launcher, "preflight", "--namespace", ns, "--domain", `${ns}.bench.test`],
          { ...env, MATHISON_BENCH_RSS_FILE: rssFile },
        ),
        "preflight (loaded)",
      ),
    );
    loaded.rssKiB.push(Number(readFileSync(rssFile, "utf8")));
    loaded.install.push(
      await must(run(process.execPath, args, { ...env, MATHISON_BENCH_RSS_FILE: rssFile }), "install (loaded)"),
    );
    loaded.rssKiB.push(Number(readFileSync(rssFile, "utf8")));
    loaded.noop.push(
      await must(run(process.execPath, args, { ...env, MATHISON_BENCH_RSS_FILE: rssFile }), "no-op (loaded)"),
    );
    loaded.rssKiB.push(Number(readFileSync(rssFile, "utf8")));
    const hns = `bench-loaded-helm-${i}-${process.pid}`;
    cleanups.push(hns);
    const chart = helmChart(hns);
    loaded.helm.push(await helm(kubeconfig, "install", hns, chart));
    rmSync(chart, { recursive: true, force: true });
    process.stderr.write(
      `loaded rep ${i + 1}/${REPS}: preflight ${loaded.preflight.at(-1)!.toFixed(0)} ms, install ${loaded.install.at(-1)!.toFixed(0)} ms, no-op ${loaded.noop.at(-1)!.toFixed(0)} ms, helm ${loaded.helm.at(-1)!.toFixed(0)} ms\n`,
    );
  }
}

type Samples = Record<
  | "install"
  | "kubectl"
  | "helm"
  | "noop"
  | "helmNoop"
  | "rssKiB"
  | "version"
  | "firstRequest"
  | "npx"
  | "preflight"
  | "overheadPct"
  | "strictOverheadPct",
  number[]
> & {
  readonly splits: TimeSplit[];
  readonly backup: {
    ms: number[];
    rssKiB: number[];
    dbBytes: number;
    dumpBytes: number;
    readonly restore: { ms: number[]; dbStepMs: number[]; rssKiB: number[] };
  };
  readonly loaded: Record<"install" | "noop" | "helm" | "preflight" | "rssKiB", number[]>;
};

/** One row per target: the median, the baseline ratio, the target, and by how much it is missed. */
function report(samples: Samples, unpackedBytes: number): void {
  const m = {
    install: median(samples.install),
    kubectl: median(samples.kubectl),
    helm: median(samples.helm),
    noop: median(samples.noop),
    helmNoop: median(samples.helmNoop),
    rssMB: Math.max(...samples.rssKiB) / 1024,
    version: median(samples.version),
    firstRequest: median(samples.firstRequest),
    npx: median(samples.npx),
    installedMB: unpackedBytes / 1e6,
    preflight: median(samples.preflight),
    overheadPct: median(samples.overheadPct),
    strictOverheadPct: median(samples.strictOverheadPct),
    firstWrite: median(samples.splits.map((s) => s.firstWriteMs)),
    before: median(samples.splits.map((s) => s.beforeMs)),
    between: median(samples.splits.map((s) => s.betweenMs)),
    after: median(samples.splits.map((s) => s.afterMs)),
    stages: median(samples.splits.map((s) => s.stagesMs)),
    backup:
      samples.backup.ms.length > 0
        ? {
            ms: median(samples.backup.ms),
            dbMB: samples.backup.dbBytes / 1e6,
            dumpMB: samples.backup.dumpBytes / 1e6,
            rssMB: Math.max(...samples.backup.rssKiB) / 1024,
            restoreMs: median(samples.backup.restore.ms),
            restoreDbMs: median(samples.backup.restore.dbStepMs),
            restoreRssMB: Math.max(...samples.backup.restore.rssKiB) / 1024,
          }
        : undefined,
    loaded:
      samples.loaded.install.length > 0
        ? {
            install: median(samples.loaded.install),
            noop: median(samples.loaded.noop),
            helm: median(samples.loaded.helm),
            preflight: median(samples.loaded.preflight),
            rssMB: Math.max(...samples.loaded.rssKiB) / 1024,
          }
        : undefined,
  };
  const ratio = (a: number, b: number) => a / b;
  const rows: { what: string; value: string; ratio: string; target: string; actual: number; limit: number }[] = [
    {
      what: "(a) fresh install, mathison-install --non-interactive",
      value: `${m.install.toFixed(0)} ms`,
      ratio: `${ratio(m.install, m.helm).toFixed(2)} × (c)`,
      target: "≤ 0.90 × (c)",
      actual: ratio(m.install, m.helm),
      limit: 0.9,
    },
    {
      what: "    the same against (b)",
      value: "",
      ratio: `${ratio(m.install, m.kubectl).toFixed(2)} × (b)`,
      target: "≤ 0.40 × (b)",
      actual: ratio(m.install, m.kubectl),
      limit: 0.4,
    },
    {
      what: "(b) seeds' procedure: kubectl apply per file + rollout status/wait",
      value: `${m.kubectl.toFixed(0)} ms`,
      ratio: "1.00 × (b)",
      target: "baseline",
      actual: 0,
      limit: 1,
    },
    {
      what: "(c) helm 4 install --wait=watcher --wait-for-jobs, same objects",
      value: `${m.helm.toFixed(0)} ms`,
      ratio: "1.00 × (c)",
      target: "baseline",
      actual: 0,
      limit: 1,
    },
    {
      what: "(d) no-op re-run",
      value: `${m.noop.toFixed(0)} ms`,
      ratio: `${ratio(m.noop, m.helmNoop).toFixed(2)} × (e)`,
      target: "≤ 0.50 × (e)",
      actual: ratio(m.noop, m.helmNoop),
      limit: 0.5,
    },
    {
      what: "(e) helm 4 upgrade, nothing changed",
      value: `${m.helmNoop.toFixed(0)} ms`,
      ratio: "1.00 × (e)",
      target: "baseline",
      actual: 0,
      limit: 1,
    },
    {
      what: "(f) npx of the tarball, empty npm cache, --version",
      value: `${m.npx.toFixed(0)} ms`,
      ratio: "",
      target: "≤ 2000 ms",
      actual: m.npx,
      limit: 2000,
    },
    {
      what: "(g) installed size of the package",
      value: `${m.installedMB.toFixed(1)} MB`,
      ratio: "",
      target: "≤ 10 MB",
      actual: m.installedMB,
      limit: 10,
    },
    {
      what: "(h) mathison-install --version",
      value: `${m.version.toFixed(0)} ms`,
      ratio: "",
      target: "≤ 60 ms",
      actual: m.version,
      limit: 60,
    },
    {
      what: "(i) spawn to the first API request",
      value: `${m.firstRequest.toFixed(0)} ms`,
      ratio: "",
      target: "≤ 150 ms",
      actual: m.firstRequest,
      limit: 150,
    },
    {
      what: "(j) installer peak RSS (max of all runs)",
      value: `${m.rssMB.toFixed(1)} MB`,
      ratio: "",
      target: "≤ 90 MB",
      actual: m.rssMB,
      limit: 90,
    },
    {
      what: "(k) preflight alone",
      value: `${m.preflight.toFixed(0)} ms`,
      ratio: "",
      target: "reported",
      actual: 0,
      limit: 1,
    },
    {
      what: "(l) installer's own time in (a): spawn → first write, between stages, last stage → exit",
      value: `${m.overheadPct.toFixed(1)} %`,
      ratio: `${m.firstWrite.toFixed(0)} + ${m.between.toFixed(0)} + ${m.after.toFixed(0)} ms of ${m.install.toFixed(0)}`,
      target: "≤ 15 %",
      actual: m.overheadPct,
      limit: 15,
    },
    {
      what: "(l') the same with the lock's and record's writes before the first stage: wall − Σ stages",
      value: `${m.strictOverheadPct.toFixed(1)} %`,
      ratio: `before ${m.before.toFixed(0)}, between ${m.between.toFixed(0)}, after ${m.after.toFixed(0)}; stages ${m.stages.toFixed(0)} ms`,
      target: "reported",
      actual: 0,
      limit: 1,
    },
    ...(m.backup
      ? [
          {
            what: `(r) backup of a ${m.backup.dbMB.toFixed(0)} MB database (dump ${m.backup.dumpMB.toFixed(0)} MB)`,
            value: `${(m.backup.ms / 1000).toFixed(1)} s`,
            ratio: `${(m.backup.dbMB / (m.backup.ms / 1000)).toFixed(0)} MB/s of database`,
            target: "≥ 50 MB/s",
            actual: 50 / (m.backup.dbMB / (m.backup.ms / 1000)),
            limit: 1,
          },
          {
            what: "(s) installer peak RSS during the backup",
            value: `${m.backup.rssMB.toFixed(1)} MB`,
            ratio: "",
            target: "≤ 100 MB",
            actual: m.backup.rssMB,
            limit: 100,
          },
          {
            what: `    restore of that dump (stop, database, migration, start, verify)`,
            value: `${(m.backup.restoreMs / 1000).toFixed(1)} s`,
            ratio: `database step ${(m.backup.restoreDbMs / 1000).toFixed(1)} s: ${(m.backup.dbMB / (m.backup.restoreDbMs / 1000)).toFixed(0)} MB/s of database; ${(m.backup.restoreMs / m.backup.ms).toFixed(1)}× the backup`,
            target: "reported",
            actual: 0,
            limit: 1,
          },
          {
            what: "    installer peak RSS during the restore",
            value: `${m.backup.restoreRssMB.toFixed(1)} MB`,
            ratio: "",
            target: "reported",
            actual: 0,
            limit: 1,
          },
        ]
      : []),
    ...(m.loaded
      ? [
          {
            what: `(m) preflight, big cluster (${SCALE.replace("x", " nodes, ")} pods)`,
            value: `${m.loaded.preflight.toFixed(0)} ms`,
            ratio: `${ratio(m.loaded.preflight, m.preflight).toFixed(2)} × (k)`,
            target: "≤ 1.5 × (k)",
            actual: ratio(m.loaded.preflight, m.preflight),
            limit: 1.5,
          },
          {
            what: "(n) fresh install, big cluster",
            value: `${m.loaded.install.toFixed(0)} ms`,
            ratio: `${ratio(m.loaded.install, m.install).toFixed(2)} × (a)`,
            target: "≤ 1.5 × (a)",
            actual: ratio(m.loaded.install, m.install),
            limit: 1.5,
          },
          {
            what: "    the same against (p)",
            value: "",
            ratio: `${ratio(m.loaded.install, m.loaded.helm).toFixed(2)} × (p)`,
            target: "≤ 0.90 × (p)",
            actual: ratio(m.loaded.install, m.loaded.helm),
            limit: 0.9,
          },
          {
            what: "(o) no-op re-run, big cluster",
            value: `${m.loaded.noop.toFixed(0)} ms`,
            ratio: `${ratio(m.loaded.noop, m.noop).toFixed(2)} × (d)`,
            target: "≤ 1.5 × (d)",
            actual: ratio(m.loaded.noop, m.noop),
            limit: 1.5,
          },
          {
            what: "(p) helm 4 install, big cluster",
            value: `${m.loaded.helm.toFixed(0)} ms`,
            ratio: "1.00 × (p)",
            target: "baseline",
            actual: 0,
            limit: 1,
          },
          {
            what: "(q) installer peak RSS, big cluster",
            value: `${m.loaded.rssMB.toFixed(1)} MB`,
            ratio: "",
            target: "≤ 90 MB",
            actual: m.loaded.rssMB,
            limit: 90,
          },
        ]
      : []),
  ];
  const verdict = (r: (typeof rows)[number]) =>
    r.actual <= r.limit ? "ok" : `MISSED by ${(((r.actual - r.limit) / r.limit) * 100).toFixed(0)} %`;
  const table = rows.map((r) => [r.what, r.value, r.ratio, r.target, verdict(r)]);
  const widths = [0, 1, 2, 3].map((c) => Math.max(...table.map((r) => r[c]!.length)));
  process.stdout.write(
    `medians of ${REPS} repetitions, interleaved (--version: ${samples.version.length}), node ${process.version}, the package as packed\n`,
  );
  for (const r of table)
    process.stdout.write(
      `${r
        .slice(0, 4)
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join("  ")}  ${r[4]}\n`,
    );
  const dir = join(PACKAGE_ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, reps: REPS, medians: m, verdicts: Object.fromEntries(rows.map((r) => [r.what.trim(), verdict(r)])), samples }, null, 2)}\n`,
  );
  process.stdout.write(`wrote ${file}\n`);
}

await main();

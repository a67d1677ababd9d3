import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";


/** Set by test/e2e/global-setup.ts (or by a developer pointing the suite at a running cluster). */
export interface TestCluster {
  readonly kubeconfig: string;
  readonly binDir: string;
}

/** The cluster, or the reason end-to-end tests are skipped (use as `{ skip }` of describe). */
export function testCluster(): { cluster: TestCluster; skip: false } | { cluster: undefined; skip: string } {
  const skip = process.env["MATHISON_E2E_SKIP"];
  const kubeconfig = process.env["MATHISON_TEST_KUBECONFIG"];
  const binDir = process.env["MATHISON_TEST_BIN_DIR"];
  if (skip) return { cluster: undefined, skip };
  if (!kubeconfig || !binDir) return { cluster: undefined, skip: "no test cluster: run through `npm run test:e2e`" };
  return { cluster: { kubeconfig, binDir }, skip: false };
}

export function requireCluster(): TestCluster {
  const t = testCluster();
  if (!t.cluster) throw new Error(`no test cluster: ${t.skip}`);
  return t.cluster;
}

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The built kubectl against the test cluster; never throws on a non-zero exit. */
export function kubectl(cluster: TestCluster, args: readonly string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(cluster.binDir, "kubectl"), ["--kubeconfig", cluster.kubeconfig, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.end(input ?? "");
  });
}

export async function kubectlJson<T = any>(cluster: TestCluster, args: readonly string[]): Promise<T> {
  const r = await kubectl(cluster, [...args, "-o", "json"]);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** A namespace name no other test uses. */
export function uniqueNamespace(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

/** Deletes a test's namespace and cluster-scoped objects without waiting on finalizers. */
export async function cleanup(cluster: TestCluster, namespace: string, clusterScoped: readonly string[] = []): Promise<void> {
  for (const ref of clusterScoped) await kubectl(cluster, ["delete", ref, "--ignore-not-found", "--wait=false"]);
  await kubectl(cluster, ["delete", "namespace", namespace, "--ignore-not-found", "--wait=false"]);
}


/**
 * Kills the test cluster's kube-apiserver (SIGKILL: its connections are cut, as in a crash), and
 * after `downMs` starts it again with the same arguments, as a restarted control plane would;
 * resolves once it is ready again, with when it went down.
 */
export async function restartApiServer(cluster: TestCluster, downMs: number): Promise<{ killedAt: number }> {
  const state = dirname(cluster.kubeconfig);
  const pidsFile = join(state, "pids");
  const lines = readFileSync(pidsFile, "utf8").trim().split("\n");
  const pid = Number(lines.find((l) => l.startsWith("kube-apiserver "))!.split(" ")[1]);
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  process.kill(-pid, "SIGKILL");
  const killedAt = Date.now();
  while (existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z")) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, downMs));
  const log = openSync(join(state, "logs", "kube-apiserver.log"), "a");
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ["ignore", log, log] });
  child.unref();
  writeFileSync(pidsFile, `${lines.map((l) => (l.startsWith("kube-apiserver ") ? `kube-apiserver ${child.pid}` : l)).join("\n")}\n`);
  for (let i = 0; ; i++) {
    if ((await kubectl(cluster, ["get", "--raw", "/readyz"])).code === 0) return { killedAt };
    if (i > 300) throw new Error("kube-apiserver did not come back within 30 s");
    await new Promise((r) => setTimeout(r, 100));
  }
}

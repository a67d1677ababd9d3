import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { kubeconfigText } from "./kubeconfig.js";
import { parse as parseYaml } from "yaml";

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

export interface AdminAccess {
  readonly server: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export function adminAccess(c: TestCluster): AdminAccess {
  const doc = parseYaml(readFileSync(c.kubeconfig, "utf8"));
  const user = doc.users[0].user;
  return {
    server: doc.clusters[0].cluster.server,
    ca: doc.clusters[0].cluster["certificate-authority"],
    cert: user["client-certificate"],
    key: user["client-key"],
  };
}

/** The test cluster's admin kubeconfig with the cluster's and the user's entries changed. */
export function derivedKubeconfig(
  c: TestCluster,
  clusterFields: Record<string, unknown>,
  userFields: Record<string, unknown>,
): string {
  const a = adminAccess(c);
  const path = join(mkdtempSync(join(tmpdir(), "mathison-kc-e2e-")), "config");
  writeFileSync(
    path,
    kubeconfigText(
      { server: a.server, "certificate-authority": a.ca, ...clusterFields },
      { "client-certificate": a.cert, "client-key": a.key, ...userFields },
    ),
  );
  return path;
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
    const child = spawn(join(cluster.binDir, "kubectl"), ["--kubeconfig", cluster.kubeconfig, ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    );
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
export async function cleanup(
  cluster: TestCluster,
  namespace: string,
  clusterScoped: readonly string[] = [],
): Promise<void> {
  for (const ref of clusterScoped) await kubectl(cluster, ["delete", ref, "--ignore-not-found", "--wait=false"]);
  await kubectl(cluster, ["delete", "namespace", namespace, "--ignore-not-found", "--wait=false"]);
}

/**
 * Kills the test cluster's kube-apiserver (SIGKILL: its connections are cut, as in a crash), and
 * after `downMs` starts it again with the same arguments, as a restarted control plane would;
 * resolves once it is ready again, with when it went down.
 */
export async function restartApiServer(
  cluster: TestCluster,
  downMs: number,
  signal: "SIGKILL" | "SIGTERM" = "SIGKILL",
): Promise<{ killedAt: number }> {
  const state = dirname(cluster.kubeconfig);
  const pidsFile = join(state, "pids");
  const lines = readFileSync(pidsFile, "utf8").trim().split("\n");
  const pid = Number(lines.find((l) => l.startsWith("kube-apiserver "))!.split(" ")[1]);
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  // SIGTERM: a graceful shutdown, as a managed control plane drains on upgrade (only the server itself, not its group).
  if (signal === "SIGKILL") process.kill(-pid, "SIGKILL");
  else process.kill(pid, "SIGTERM");
  const killedAt = Date.now();
  if (signal === "SIGKILL") {
    while (existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z"))
      await new Promise((r) => setTimeout(r, 20));
  } else {
    // A draining server stops listening at once but finishes its requests for a long while; the
    // new one starts beside it once the port is free, as a replacement replica would.
    const port = Number(new URL(adminAccess(cluster).server).port);
    while (await portOpen(port)) await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, downMs));
  const log = openSync(join(state, "logs", "kube-apiserver.log"), "a");
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ["ignore", log, log] });
  child.unref();
  writeFileSync(
    pidsFile,
    `${lines.map((l) => (l.startsWith("kube-apiserver ") ? `kube-apiserver ${child.pid}` : l)).join("\n")}\n`,
  );
  for (let i = 0; ; i++) {
    if ((await kubectl(cluster, ["get", "--raw", "/readyz"])).code === 0) return { killedAt };
    if (i > 300) throw new Error("kube-apiserver did not come back within 30 s");
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Waits until the cluster's controllers schedule and run a pod again: after an API server
 * restart the scheduler and controllers resume at their own pace (their reconnect backoff can
 * reach tens of seconds), and the tests after must not inherit that.
 */
export async function waitUntilPodsRun(cluster: TestCluster, timeoutS = 180): Promise<void> {
  const namespace = uniqueNamespace("e2e-health");
  try {
    await kubectl(cluster, ["create", "namespace", namespace]);
    // The namespace's default ServiceAccount comes from the controller-manager: it too has to be back.
    const deadline = Date.now() + timeoutS * 1000;
    for (;;) {
      const run = await kubectl(cluster, ["-n", namespace, "run", "probe", "--image=busybox", "--restart=Never"]);
      if (run.code === 0) break;
      if (Date.now() > deadline) throw new Error(run.stderr);
      await new Promise((r) => setTimeout(r, 500));
    }
    const ready = await kubectl(cluster, [
      "-n",
      namespace,
      "wait",
      "--for=condition=Ready",
      "pod/probe",
      `--timeout=${timeoutS}s`,
    ]);
    if (ready.code !== 0) throw new Error(`the cluster did not run a pod again within ${timeoutS} s: ${ready.stderr}`);
  } finally {
    await kubectl(cluster, ["delete", "namespace", namespace, "--wait=false"]);
  }
}

/** A TCP relay in front of the API server, whose connection a test can cut: the installer loses the API server, the cluster does not. */
export interface ApiRelay {
  /** A kubeconfig copy that reaches the API server through the relay. */
  readonly kubeconfig: string;
  /** Drops every connection and refuses new ones, as an unreachable API server would. */
  cut(): void;
  /**
   * A partition: nothing gets through either way (every socket paused, new ones too), while
   * every connection stays open, as when a network drops packets; `frozen(false)` heals it.
   */
  frozen(on: boolean): void;
  close(): void;
}

export async function startApiRelay(cluster: TestCluster): Promise<ApiRelay> {
  const text = readFileSync(cluster.kubeconfig, "utf8");
  const upstream = new URL(/server: (\S+)/.exec(text)![1]!);
  const sockets = new Set<Socket>();
  let isFrozen = false;
  const pairs: [Socket, Socket][] = [];
  const server = createServer((socket) => {
    const up = createConnection({ host: upstream.hostname, port: Number(upstream.port) });
    for (const s of [socket, up]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    pairs.push([socket, up]);
    if (isFrozen) {
      socket.pause();
      up.pause();
    } else socket.pipe(up).pipe(socket);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const dir = mkdtempSync(join(tmpdir(), "mathison-relay-"));
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    text.replace(upstream.origin, `https://127.0.0.1:${(server.address() as AddressInfo).port}`),
    { mode: 0o600 },
  );
  const cut = (): void => {
    server.close();
    for (const s of sockets) s.destroy();
  };
  const frozen = (on: boolean): void => {
    isFrozen = on;
    for (const s of sockets) {
      if (on) {
        // Unpiped while frozen: a paused stream that stays piped is resumed by its pipe.
        s.unpipe();
        s.pause();
      }
    }
    if (!on) {
      for (const s of sockets) s.removeAllListeners("data");
      // Pairs re-piped: each socket's peer is the one it was connected to.
      for (const [a, b] of pairs) {
        if (!a.destroyed && !b.destroyed) a.pipe(b).pipe(a);
      }
    }
  };
  return {
    kubeconfig,
    cut,
    frozen,
    close: () => {
      cut();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One of cert-manager's CustomResourceDefinitions, schema-less, as the API server serves it once
 * cert-manager is installed (the test cluster runs no cert-manager): established when it returns.
 */
export async function installCertManagerCrd(
  cluster: TestCluster,
  kind: "ClusterIssuer" | "Certificate",
): Promise<void> {
  const plural = `${kind.toLowerCase()}s`;
  const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ${plural}.cert-manager.io}
spec:
  group: cert-manager.io
  scope: ${kind === "ClusterIssuer" ? "Cluster" : "Namespaced"}
  names: {kind: ${kind}, plural: ${plural}, singular: ${kind.toLowerCase()}, listKind: ${kind}List}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
`;
  const applied = await kubectl(cluster, ["apply", "-f", "-"], crd);
  if (applied.code !== 0) throw new Error(applied.stderr);
  const established = await kubectl(cluster, [
    "wait",
    "--for=condition=Established",
    `crd/${plural}.cert-manager.io`,
    "--timeout=30s",
  ]);
  if (established.code !== 0) throw new Error(established.stderr);
}

/**
 * An ingress-nginx controller as the preflight recognises one: a Ready pod (KWOK runs it) labelled
 * as its chart labels it, in a namespace of its own. Returns what removes it.
 */
export async function ingressControllerStandIn(c: TestCluster): Promise<() => Promise<void>> {
  const namespace = uniqueNamespace("e2e-ingress-nginx");
  await kubectl(c, ["create", "namespace", namespace]);
  const run = await kubectl(c, [
    "-n",
    namespace,
    "run",
    "controller",
    "--image=registry.k8s.io/ingress-nginx/controller:v1.12.0",
    "--labels=app.kubernetes.io/name=ingress-nginx",
  ]);
  if (run.code !== 0) throw new Error(`stand-in ingress controller: ${run.stderr}`);
  await kubectl(c, ["-n", namespace, "wait", "--for=condition=Ready", "pod/controller", "--timeout=30s"]);
  return async () => {
    await kubectl(c, ["delete", "namespace", namespace, "--wait=false"]);
  };
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clusterScopedName } from "../../src/render/customise.js";
import { after } from "node:test";
import { cleanup, kubectl, kubectlJson, uniqueNamespace, type TestCluster } from "./cluster.js";
import { PACKAGE_ROOT } from "../../src/base/paths.js";
import { contractProblems } from "./events.js";

export interface InstallRun {
  readonly code: number;
  /** Parsed JSON Lines from stdout (with --output json). */
  readonly events: any[];
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** The built CLI as a user runs it, in a child process, against the test cluster. */
export function runInstaller(
  cluster: TestCluster,
  args: readonly string[],
  env: Record<string, string> = {},
  under: readonly string[] = [],
): Promise<InstallRun> {
  return startInstaller(cluster, args, env, under).result;
}

/** Runs the installer and SIGKILLs it `delayMs` after its stdout first matches `at` (a JSON event, say); what it printed. */
export async function killedOn(
  cluster: TestCluster,
  args: readonly string[],
  at: RegExp,
  delayMs = 0,
  env: Record<string, string> = {},
): Promise<{ out: string; run: InstallRun }> {
  const { child, result } = startInstaller(cluster, args, env);
  let out = "";
  let sent = false;
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    if (sent || !at.test(out)) return;
    sent = true;
    setTimeout(() => child.kill("SIGKILL"), delayMs);
  });
  const run = await result;
  return { out, run };
}

/** As runInstaller, with the child at hand (to kill it mid-run). */
export function startInstaller(
  cluster: TestCluster,
  args: readonly string[],
  env: Record<string, string> = {},
  /** A command the installer runs under, e.g. `faketime -f +10m`. */
  under: readonly string[] = [],
): { child: ChildProcess; result: Promise<InstallRun> } {
  const started = Date.now();
  // A directory of its own: a failed run writes its support bundle there.
  const cwd = mkdtempSync(join(tmpdir(), "mathison-run-"));
  const command = [...under, process.execPath, join(PACKAGE_ROOT, "bin", "mathison-install.js"), ...args];
  const child = spawn(command[0]!, command.slice(1), {
    env: {
      PATH: process.env["PATH"] ?? "",
      HOME: process.env["HOME"] ?? "",
      KUBECONFIG: cluster.kubeconfig,
      ANTHROPIC_API_KEY: "sk-ant-test",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
    cwd,
  });
  const result = new Promise<InstallRun>((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (c: Buffer) => out.push(c));
    child.stderr!.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) => {
      keepOnlyIfWritten(cwd);
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      const events = stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l));
      // Every JSON Lines stream a test reads keeps the published contract.
      const json = args.some((a) => a === "json" || a === "--output=json");
      const streams = json && !args.includes("--help");
      const broken = streams ? contractProblems(events, code) : [];
      if (broken.length > 0)
        reject(
          new Error(
            `mathison-install ${args.join(" ")}: its JSON stream breaks the contract:\n  ${broken.join("\n  ")}\n${stderr}`,
          ),
        );
      else resolve({ code: code ?? -1, events, stdout, stderr, ms: Date.now() - started });
    });
  });
  return { child, result };
}

/** Removes a run's directory when the run wrote nothing there; a support bundle stays to be read. */
export function keepOnlyIfWritten(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty: kept
  }
}

/**
 * A scripted install; the test cluster has no ingress controller, so the verification at the end
 * is skipped here (test/e2e/verify.e2e.test.ts runs it where a stand-in controller serves).
 */
export function installArgs(namespace: string, ...extra: string[]): string[] {
  return [
    "install",
    "--non-interactive",
    "--output",
    "json",
    "--skip-verify",
    "--namespace",
    namespace,
    "--domain",
    `${namespace}.e2e.test`,
    ...extra,
  ];
}

const KINDS =
  "serviceaccount,configmap,secret,service,statefulset,job,deployment,ingress,networkpolicy,poddisruptionbudget";

/**
 * The namespace's Jobs once their controller has marked them finished. An install moves on as
 * soon as a Job's pod succeeded; the Job controller writes Complete (and `succeeded`) about a
 * second later — its own write, not the installer's.
 */
export async function finishedJobs(c: TestCluster, namespace: string): Promise<any[]> {
  const finished = (j: any) =>
    (j.status?.conditions ?? []).some((x: any) => ["Complete", "Failed"].includes(x.type) && x.status === "True");
  for (let i = 0; ; i++) {
    const jobs = (await kubectlJson<{ items: any[] }>(c, ["-n", namespace, "get", "jobs"])).items;
    if (jobs.every(finished) || i >= 100) return jobs;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** resourceVersion of every object the installer manages in the namespace, plus its cluster-scoped ones, once its Jobs are marked finished. */
export async function versions(c: TestCluster, namespace: string): Promise<Record<string, string>> {
  await finishedJobs(c, namespace);
  const ns = await kubectlJson<{ items: any[] }>(c, [
    "-n",
    namespace,
    "get",
    KINDS,
    "-l",
    "app.kubernetes.io/managed-by=mathison",
  ]);
  const cs = await kubectlJson<{ items: any[] }>(c, [
    "get",
    `namespace/${namespace}`,
    `clusterrole/${clusterScopedName(namespace)}`,
    `clusterrolebinding/${clusterScopedName(namespace)}`,
  ]);
  return Object.fromEntries(
    [...ns.items, ...cs.items].map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]),
  );
}

/** Deletes an install's namespace and cluster-scoped objects. */
export function tidy(c: TestCluster, namespace: string): Promise<void> {
  return cleanup(c, namespace, [
    `clusterrole/${clusterScopedName(namespace)}`,
    `clusterrolebinding/${clusterScopedName(namespace)}`,
  ]);
}

/**
 * A new namespace name per call, each tidied once the suite ends: call it inside a describe
 * (it registers the suite's after hook).
 */
export function freshNamespaces(c: TestCluster): (prefix: string) => string {
  const namespaces: string[] = [];
  after(async () => {
    await Promise.all(namespaces.map((ns) => tidy(c, ns)));
  });
  return (prefix) => {
    const ns = uniqueNamespace(prefix);
    namespaces.push(ns);
    return ns;
  };
}

/** A Lease time: RFC 3339 with six fractional digits. */
const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

/**
 * A run on another machine holding the install's lock: the Lease created as that run would, then
 * renewed every second (its renewTime by its own clock, `skewS` off ours) until `stop`, after
 * which it stays as a killed run leaves it.
 */
export async function holdLockElsewhere(
  c: TestCluster,
  namespace: string,
  holder: { user: string; host: string; pid: number; context: string } = {
    user: "ops",
    host: "build-agent-7",
    pid: 4242,
    context: "prod",
  },
  skewS = 0,
): Promise<{ stop(): Promise<void> }> {
  const their = () => microTime(new Date(Date.now() + skewS * 1000));
  const t = their();
  const lease = {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: "mathison-install-lock",
      namespace,
      annotations: { "mathison.dev/holder": JSON.stringify({ ...holder, since: t }) },
    },
    spec: {
      holderIdentity: `${holder.user}@${holder.host} pid ${holder.pid} abcd`,
      leaseDurationSeconds: 15,
      acquireTime: t,
      renewTime: t,
    },
  };
  const created = await kubectl(c, ["create", "-f", "-"], JSON.stringify(lease));
  if (created.code !== 0) throw new Error(`the Lease: ${created.stderr}`);
  let renewing = true;
  const loop = (async () => {
    while (renewing) {
      await new Promise((r) => setTimeout(r, 1_000));
      if (!renewing) break;
      const patch = JSON.stringify({ spec: { renewTime: their() } });
      await kubectl(c, ["-n", namespace, "patch", "lease/mathison-install-lock", "--type=merge", "-p", patch]);
    }
  })();
  return {
    async stop() {
      renewing = false;
      await loop;
    },
  };
}

/** The installs `status --output json` reported, one `report` event each. */
export function reports(run: InstallRun): any[] {
  return run.events.filter((e) => e.event === "report").map((e) => e.install);
}

/** The one install `status --namespace N --output json` reported (undefined: none). */
export function reported(run: InstallRun): any {
  return reports(run)[0];
}

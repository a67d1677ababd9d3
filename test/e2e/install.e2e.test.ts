// `mathison-install install --non-interactive` against the real test cluster.
import assert from "node:assert/strict";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { kubectl, kubectlJson, testCluster, uniqueNamespace } from "../helpers/cluster.js";
import { installArgs, runInstaller, tidy, versions, reports } from "../helpers/install.js";
import { readTarGz } from "../helpers/tar.js";

const { cluster, skip } = testCluster();

describe("install --non-interactive", { skip }, () => {
  const c = cluster!;
  const namespace = uniqueNamespace("e2e-install");
  after(() => tidy(c, namespace));

  it("a fresh install reaches all-Ready and exits 0", async () => {
    const run = await runInstaller(c, installArgs(namespace));
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const done = run.events.at(-1);
    assert.equal(done.event, "done");
    assert.equal(done.ok, true);
    const stages = run.events.filter((e) => e.event === "stage" && e.status === "done").map((e) => e.stage);
    assert.deepEqual(stages, ["base", "config", "backing", "migrate", "app", "edge"]);
    for (const e of run.events) assert.equal(typeof e.ts, "string");
    const ready = run.events
      .filter((e) => e.event === "status" && e.state === "ready")
      .map((e) => e.object.replace(/-[0-9a-f]{10}$/, ""));
    assert.deepEqual(ready.sort(), [
      "Deployment/mathison-web",
      "Deployment/mathison-worker",
      "Job/mathison-migrate",
      "StatefulSet/postgres",
      "StatefulSet/redis",
    ]);
    const web = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
    assert.equal(web.status.readyReplicas, 2);
    assert.ok(run.events.filter((e) => e.event === "apply").every((e) => e.action === "created"));
    // The migration Job's log, served by the node's kubelet API through the API server, streams into the events.
    const logLines = run.events.filter((e) => e.event === "log" && e.stage === "migrate").map((e) => e.line);
    assert.ok(logLines.includes("All migrations have been successfully applied."), JSON.stringify(logLines));
    const logIndex = run.events.findIndex((e) => e.event === "log");
    const migrateDone = run.events.findIndex(
      (e) => e.event === "stage" && e.stage === "migrate" && e.status === "done",
    );
    assert.ok(logIndex < migrateDone, "log lines arrive while the stage runs");
  });

  it("status --all-namespaces lists it among every install the credentials can see", async () => {
    const json = await runInstaller(c, ["status", "--all-namespaces", "--output", "json"]);
    assert.ok([0, 7].includes(json.code), json.stderr);
    const installs = reports(json);
    const ours = installs.find((s: any) => s.namespace === namespace);
    assert.equal(ours?.healthy, true, json.stdout.slice(0, 400));
    const namespaces = installs.map((s: any) => s.namespace);
    assert.deepEqual(namespaces, [...namespaces].sort(), "sorted by namespace");
    const plain = await runInstaller(c, ["status", "-A"]);
    assert.match(plain.stdout, /^NAMESPACE\s+STATE\s+WEB IMAGE\s+LAST RUN$/m);
    assert.match(plain.stdout, new RegExp(`^${namespace}\\s+healthy\\s+mathison-web:\\S+\\s+ok, `, "m"));
  });

  it("an identical second run changes nothing and keeps the secrets", async () => {
    const before = await versions(c, namespace);
    const secretBefore = await kubectlJson(c, ["-n", namespace, "get", "secret/mathison-secrets"]);
    const run = await runInstaller(c, installArgs(namespace));
    assert.equal(run.code, 0, run.stderr);
    const actions = run.events.filter((e) => e.event === "apply");
    assert.ok(actions.length > 20);
    assert.deepEqual(
      actions.filter((e) => e.action !== "unchanged"),
      [],
    );
    assert.deepEqual(await versions(c, namespace), before);
    const secretAfter = await kubectlJson(c, ["-n", namespace, "get", "secret/mathison-secrets"]);
    assert.deepEqual(secretAfter.data, secretBefore.data);
  });

  it("--dry-run reports what would change and writes nothing", async () => {
    const before = await versions(c, namespace);
    const run = await runInstaller(c, installArgs(namespace, "--dry-run", "--tag", "2.0.0"));
    assert.equal(run.code, 0, run.stderr);
    const byObject = Object.fromEntries(
      run.events.filter((e) => e.event === "apply").map((e) => [e.object.replace(/-[0-9a-f]{10}$/, ""), e]),
    );
    assert.equal(byObject["Deployment/mathison-web"].action, "change");
    assert.ok(byObject["Deployment/mathison-web"].fields.includes("spec.template.spec.containers[0].image"));
    assert.equal(byObject["Job/mathison-migrate"].action, "create");
    assert.equal(byObject["StatefulSet/postgres"].action, "none");
    assert.equal(byObject["Secret/mathison-secrets"].action, "none");
    assert.deepEqual(await versions(c, namespace), before);
    const jobs = await kubectlJson<{ items: any[] }>(c, ["-n", namespace, "get", "jobs"]);
    assert.equal(jobs.items.length, 1, "no new migration Job");
  });

  it("a failing migration stops the upgrade with exit 5 and leaves web and worker untouched", async () => {
    const before = await versions(c, namespace);
    // kwok.invalid/crash:1 exits 1 on every start (scripts/cluster/kwok-stages.yaml).
    const run = await runInstaller(c, installArgs(namespace, "--web-image", "kwok.invalid/crash:1"));
    assert.equal(run.code, 5, run.stderr + run.stdout);
    const failed = run.events.find((e) => e.event === "failed");
    assert.equal(failed.stage, "migrate");
    assert.match(failed.object, /^Job\/mathison-migrate-/);
    assert.equal(failed.reason, "CrashLoopBackOff");
    assert.ok(failed.hint.length > 0);
    // The crashed container's previous log says why.
    assert.ok(failed.logs.includes("Error: P3009"), JSON.stringify(failed.logs));
    const done = run.events.at(-1);
    assert.equal(done.outcome, "wait-failed");
    assert.match(done.resume, /re-run the same command to resume/i);
    assert.ok(!run.events.some((e) => e.event === "apply" && e.stage === "app"), "stage 5 never applied");
    const afterRun = await versions(c, namespace);
    for (const ref of ["Deployment/mathison-web", "Deployment/mathison-worker"])
      assert.equal(afterRun[ref], before[ref], `${ref} untouched`);
  });

  it("that failure left a support bundle: 0600, the failing pod's log and the events, no secret value", async () => {
    const run = await runInstaller(c, installArgs(namespace, "--web-image", "kwok.invalid/crash:1"));
    assert.equal(run.code, 5);
    const bundle = run.events.find((e) => e.event === "support-bundle");
    assert.ok(bundle?.path, JSON.stringify(bundle));
    assert.equal(statSync(bundle.path).mode & 0o777, 0o600);
    const files = readTarGz(bundle.path);
    assert.match(files.get("failure.log")!, /^Job\/mathison-migrate-\w+: CrashLoopBackOff: [\s\S]*Error: P3009/);
    // The crashed pod, if its Job has not deleted it yet: described, with its previous container's log.
    const job = run.events.find((e) => e.event === "failed").object.slice("Job/".length);
    const pods = [...files.keys()].filter((f) => f.startsWith(`pods/${job}-`));
    for (const pod of pods) assert.match(files.get(pod)!, /restarts=3/);
    // With its pod gone, what the bundle keeps of the crash is the failure's log (above) and the events.
    if (pods.length === 0) assert.match(files.get("namespace-events.txt") ?? "", new RegExp(job));
    assert.ok(
      files.has("namespace-events.txt") &&
        files.has("versions.json") &&
        files.has("plan.yaml") &&
        files.has("preflight.json"),
    );
    assert.ok(
      JSON.parse(`[${files.get("events.jsonl")!.trim().split("\n").join(",")}]`).some((e: any) => e.event === "failed"),
    );
    assert.match(
      files.get("objects/Secret-mathison-secrets.yaml")!,
      /keys:\n {2}- ANTHROPIC_API_KEY\n {2}- AUTH_SECRET\n {2}- DATABASE_URL\n {2}- POSTGRES_PASSWORD\n$/,
    );
    const secret = await kubectlJson(c, ["-n", namespace, "get", "secret/mathison-secrets"]);
    const all = [...files.values()].join("\n");
    for (const [key, encoded] of Object.entries(secret.data as Record<string, string>)) {
      const value = Buffer.from(encoded, "base64").toString();
      assert.ok(!all.includes(value) && !all.includes(encoded), `${key} is not in the bundle`);
    }
  });

  it("support-bundle on demand: its path on stdout, the install's objects and pods inside", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mathison-bundle-"));
    const run = await runInstaller(c, ["support-bundle", "--namespace", namespace, "--dir", dir]);
    assert.equal(run.code, 0, run.stderr);
    const path = run.stdout.trim();
    assert.ok(path.startsWith(dir), path);
    const files = readTarGz(path);
    assert.ok(
      files.has("objects/Deployment-mathison-web.yaml") && files.has("objects/ConfigMap-mathison-install.yaml"),
    );
    assert.ok([...files.keys()].some((f) => /^logs\/mathison-web-[\w-]+\/web\.log$/.test(f)));
    assert.ok(!files.has("events.jsonl"), "no run, no run events");
  });

  it("a later good upgrade rolls out and removes the failed and old migration Jobs", async () => {
    const run = await runInstaller(c, installArgs(namespace, "--tag", "1.1.0"));
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const jobs = await kubectlJson<{ items: any[] }>(c, ["-n", namespace, "get", "jobs"]);
    assert.equal(jobs.items.length, 1);
    assert.equal(run.events.filter((e) => e.event === "cleanup").length, 2);
    const web = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
    assert.equal(web.spec.template.spec.containers[0].image, "mathison-web:1.1.0");
  });
});

describe("install failures", { skip }, () => {
  const c = cluster!;

  it("bad flags exit 2, list every problem and create nothing", async () => {
    const namespace = uniqueNamespace("e2e-bad");
    const run = await runInstaller(c, [
      "install",
      "--non-interactive",
      "--namespace",
      namespace,
      "--domain",
      "bad_domain",
      "--web-replicas",
      "zero",
      "--output",
      "yaml",
    ]);
    assert.equal(run.code, 2);
    const lines = run.stderr.split("\n").filter((l) => l.startsWith("mathison-install: "));
    assert.equal(lines.length, 3, run.stderr);
    assert.equal((await kubectl(c, ["get", "namespace", namespace])).code, 1, "namespace not created");
  });

  it("missing required values are listed at once", async () => {
    const run = await runInstaller(c, ["install", "--non-interactive", "--namespace", uniqueNamespace("e2e-missing")], {
      ANTHROPIC_API_KEY: "",
    });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--domain: missing/);
    assert.match(run.stderr, /ANTHROPIC_API_KEY: missing/);
  });

  it("an unreachable cluster exits 3 and applies nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mathison-kc-"));
    const kubeconfig = join(dir, "config");
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port;
        server.close(() => resolve(port));
      });
    });
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: x, cluster: {server: 'https://127.0.0.1:${closedPort}'}}]\nusers: [{name: x, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: x, user: x}}]\ncurrent-context: x\n`,
    );
    const run = await runInstaller(c, installArgs("e2e-unreachable", "--kubeconfig", kubeconfig));
    assert.equal(run.code, 3, run.stderr);
    assert.equal(run.events.at(-1).outcome, "cluster-access");
    const missingContext = await runInstaller(c, installArgs("e2e-unreachable", "--context", "nope"));
    assert.equal(missingContext.code, 3);
    assert.match(missingContext.stdout, /context \\"nope\\" is not in the kubeconfig/);
  });

  it("an image that cannot be pulled fails the stage at once with the reason and a hint", async () => {
    const namespace = uniqueNamespace("e2e-pull");
    after(() => tidy(c, namespace));
    const run = await runInstaller(
      c,
      installArgs(namespace, "--worker-image", "kwok.invalid/missing:1", "--timeout", "5m"),
    );
    assert.equal(run.code, 5, run.stderr);
    const failed = run.events.find((e) => e.event === "failed");
    assert.equal(failed.stage, "app");
    assert.equal(failed.object, "Deployment/mathison-worker");
    assert.equal(failed.reason, "ImagePullBackOff");
    assert.match(failed.hint, /image/);
    assert.ok(run.ms < 60_000, `failed fast (${run.ms} ms), not at the 5 minute timeout`);
  });

  it("a stage that does not become ready fails at its timeout with exit 5, the stall's reason and a hint", async () => {
    const namespace = uniqueNamespace("e2e-timeout");
    after(() => tidy(c, namespace));
    const run = await runInstaller(
      c,
      installArgs(namespace, "--storage-class", "no-such-class", "--timeout", "4s", "--skip-preflight"),
    );
    assert.equal(run.code, 5, run.stderr);
    const failed = run.events.find((e) => e.event === "failed");
    assert.equal(failed.stage, "backing");
    assert.match(failed.message, /not ready after 4 s/);
    assert.match(failed.message, /PersistentVolumeClaim data-(postgres|redis)-0 is Pending/);
    assert.match(failed.hint, /--storage-class/);
    assert.equal(run.events.at(-1).outcome, "timeout");
    const stall = run.events.find((e) => e.event === "stall");
    assert.ok(stall && !stall.fatal, "the pending claim was reported while waiting");
  });

  it("plain output without a TTY has one line per change and no ANSI", async () => {
    const namespace = uniqueNamespace("e2e-plain");
    after(() => tidy(c, namespace));
    const run = await runInstaller(c, [
      "install",
      "--non-interactive",
      "--skip-verify",
      "--namespace",
      namespace,
      "--domain",
      "plain.e2e.test",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "", "progress goes to stderr");
    assert.ok(!run.stderr.includes("\x1b["), "no escape sequences");
    assert.match(run.stderr, /^\[3\/6\] PostgreSQL and Redis$/m);
    assert.match(run.stderr, /^✔ Mathison is installed in namespace/m);
  });
});

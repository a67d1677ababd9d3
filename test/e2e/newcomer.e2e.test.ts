// What a newcomer meets after the happy path: piping the output into head, a failed first
// install, a re-install after uninstall, a verification that fails. Each test is a bug that was
// seen on the test cluster, reproduced as the person met it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { PACKAGE_ROOT } from "../../src/paths.js";
import { kubectl, kubectlJson, testCluster, uniqueNamespace, type TestCluster } from "../helpers/cluster.js";
import { installArgs, runInstaller, tidy } from "../helpers/install.js";

const { cluster, skip } = testCluster();

async function record(c: TestCluster, namespace: string): Promise<{ answers?: Record<string, string>; history: any[]; inventory: string[] }> {
  const cm = await kubectlJson(c, ["-n", namespace, "get", "configmap/mathison-install"]);
  return { answers: parseYaml(cm.data["answers.yaml"] ?? "null") ?? undefined, history: parseYaml(cm.data["history.yaml"]), inventory: parseYaml(cm.data["inventory.yaml"]) };
}

/**
 * The installer with its output read by a reader that goes away after `lines` lines, as
 * `| head -N` does: the pipe is closed while the run goes on.
 */
function runIntoHead(c: TestCluster, args: readonly string[], lines: number, stream: "stdout" | "both"): Promise<{ code: number; stderr: string }> {
  const child = spawn(process.execPath, [join(PACKAGE_ROOT, "bin", "mathison-install.js"), ...args], {
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", KUBECONFIG: c.kubeconfig, ANTHROPIC_API_KEY: "sk-ant-test" },
    stdio: ["ignore", "pipe", "pipe"],
    cwd: mkdtempSync(join(tmpdir(), "mathison-run-")),
  });
  let seen = 0;
  const err: Buffer[] = [];
  const reader = stream === "both" ? child.stderr! : child.stdout!;
  reader.on("data", (chunk: Buffer) => {
    if (stream === "both") err.push(chunk);
    seen += chunk.toString().split("\n").length - 1;
    if (seen >= lines) {
      child.stdout!.destroy();
      if (stream === "both") child.stderr!.destroy();
    }
  });
  if (stream === "stdout") child.stderr!.on("data", (b: Buffer) => err.push(b));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code: code ?? -1, stderr: Buffer.concat(err).toString() })));
}

describe("the product as a newcomer meets it", { skip }, () => {
  const c = cluster!;
  const namespaces: string[] = [];
  const fresh = (prefix: string) => {
    const ns = uniqueNamespace(prefix);
    namespaces.push(ns);
    return ns;
  };
  after(() => Promise.all(namespaces.map((ns) => tidy(c, ns))));

  it("`install --output json | head -5` during an upgrade: the run completes, is recorded, and frees the lock", async () => {
    const namespace = fresh("e2e-epipe");
    assert.equal((await runInstaller(c, installArgs(namespace, "--tls", "none"))).code, 0);
    const run = await runIntoHead(c, installArgs(namespace, "--tag", "1.2.0"), 5, "stdout");
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /EPIPE|at JsonReporter|internal error/);
    assert.match(run.stderr, /standard output was closed .* the run goes on to its end/);
    const web = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
    assert.equal(web.spec.template.spec.containers[0].image, "mathison-web:1.2.0", "web rolled to the new tag");
    assert.deepEqual((await record(c, namespace)).history.map((h) => [h.outcome, h.webImage]), [["ok", "mathison-web:latest"], ["ok", "mathison-web:1.2.0"]]);
    assert.equal((await kubectl(c, ["-n", namespace, "get", "lease/mathison-install-lock"])).code, 1, "lock released");
  });

  it("`install … 2>&1 | head -5` (plain): stdout and stderr closed, the run still completes and is recorded", async () => {
    const namespace = fresh("e2e-epipe-plain");
    const args = ["install", "--non-interactive", "--skip-verify", "--namespace", namespace, "--domain", `${namespace}.e2e.test`, "--tls", "none"];
    const run = await runIntoHead(c, args, 5, "both");
    assert.equal(run.code, 0);
    assert.deepEqual((await record(c, namespace)).history.map((h) => h.outcome), ["ok"]);
    assert.equal((await kubectl(c, ["-n", namespace, "get", "lease/mathison-install-lock"])).code, 1, "lock released");
  });
});

// What a newcomer meets after the happy path: piping the output into head, a failed first
// install, a re-install after uninstall, a verification that fails. Each test is a bug that was
// seen on the test cluster, reproduced as the person met it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { kubectl, kubectlJson, testCluster, type TestCluster } from "../helpers/cluster.js";
import { freshNamespaces, installArgs, keepOnlyIfWritten, runInstaller } from "../helpers/install.js";
import { readTarGz } from "../helpers/tar.js";
import { Terminal, tmuxMissing } from "../helpers/terminal.js";
import { PACKAGE_ROOT } from "../../src/base/paths.js";

const { cluster, skip } = testCluster();

async function record(
  c: TestCluster,
  namespace: string,
): Promise<{ answers?: Record<string, string>; history: any[]; inventory: string[] }> {
  const cm = await kubectlJson(c, ["-n", namespace, "get", "configmap/mathison-install"]);
  return {
    answers: parseYaml(cm.data["answers.yaml"] ?? "null") ?? undefined,
    history: parseYaml(cm.data["history.yaml"]),
    inventory: parseYaml(cm.data["inventory.yaml"]),
  };
}

/**
 * The installer with its output read by a reader that goes away after `lines` lines, as
 * `| head -N` does: the pipe is closed while the run goes on.
 */
function runIntoHead(
  c: TestCluster,
  args: readonly string[],
  lines: number,
  stream: "stdout" | "both",
): Promise<{ code: number; stderr: string }> {
  const cwd = mkdtempSync(join(tmpdir(), "mathison-run-"));
  const child = spawn(process.execPath, [join(PACKAGE_ROOT, "bin", "mathison-install.js"), ...args], {
    env: {
      PATH: process.env["PATH"] ?? "",
      HOME: process.env["HOME"] ?? "",
      KUBECONFIG: c.kubeconfig,
      ANTHROPIC_API_KEY: "sk-ant-test",
    },
    stdio: ["ignore", "pipe", "pipe"],
    cwd,
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
  return new Promise((resolve) =>
    child.on("close", (code) => {
      keepOnlyIfWritten(cwd);
      resolve({ code: code ?? -1, stderr: Buffer.concat(err).toString() });
    }),
  );
}

describe("the product as a newcomer meets it", { skip }, () => {
  const c = cluster!;
  const fresh = freshNamespaces(c);

  it("`install --output json | head -5` during an upgrade: the run completes, is recorded, and frees the lock", async () => {
    const namespace = fresh("e2e-epipe");
    assert.equal((await runInstaller(c, installArgs(namespace, "--tls", "none"))).code, 0);
    const run = await runIntoHead(c, installArgs(namespace, "--tag", "1.2.0"), 5, "stdout");
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /EPIPE|at JsonReporter|internal error/);
    assert.match(run.stderr, /standard output was closed .* the run goes on to its end/);
    const web = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
    assert.equal(web.spec.template.spec.containers[0].image, "mathison-web:1.2.0", "web rolled to the new tag");
    assert.deepEqual(
      (await record(c, namespace)).history.map((h) => [h.outcome, h.webImage]),
      [
        ["ok", "mathison-web:latest"],
        ["ok", "mathison-web:1.2.0"],
      ],
    );
    assert.equal((await kubectl(c, ["-n", namespace, "get", "lease/mathison-install-lock"])).code, 1, "lock released");
  });

  it("`install … 2>&1 | head -5` (plain): stdout and stderr closed, the run still completes and is recorded", async () => {
    const namespace = fresh("e2e-epipe-plain");
    const args = [
      "install",
      "--non-interactive",
      "--skip-verify",
      "--namespace",
      namespace,
      "--domain",
      `${namespace}.e2e.test`,
      "--tls",
      "none",
    ];
    const run = await runIntoHead(c, args, 5, "both");
    assert.equal(run.code, 0);
    assert.deepEqual(
      (await record(c, namespace)).history.map((h) => h.outcome),
      ["ok"],
    );
    assert.equal((await kubectl(c, ["-n", namespace, "get", "lease/mathison-install-lock"])).code, 1, "lock released");
  });

  it("a failed first install is visible: status says INCOMPLETE (exit 7), a re-run needs no answers again, uninstall removes it", async () => {
    const namespace = fresh("e2e-failed-first");
    const failed = await runInstaller(
      c,
      installArgs(namespace, "--tls", "none", "--web-image", "kwok.invalid/crash:1"),
    );
    assert.equal(failed.code, 5, failed.stderr);
    const status = await runInstaller(c, ["status", "--namespace", namespace]);
    assert.equal(status.code, 7, status.stderr);
    assert.match(
      status.stdout.replace(/\n/g, " "),
      new RegExp(
        `INCOMPLETE: no run has completed yet \\(the last one stopped: wait-failed, .*\\); re-run mathison-install install --namespace ${namespace} to resume`,
      ),
    );
    // The same install, resumed with the fix alone: the domain and the rest come from the record.
    const resumed = await runInstaller(c, [
      "install",
      "--non-interactive",
      "--output",
      "json",
      "--skip-verify",
      "--namespace",
      namespace,
      "--web-image",
      "mathison-web",
    ]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((await record(c, namespace)).answers?.["domain"], `${namespace}.e2e.test`);
    assert.equal((await runInstaller(c, ["status", "--namespace", namespace])).code, 0);
  });

  it("uninstall removes a first install that failed half-way", async () => {
    const namespace = fresh("e2e-failed-rm");
    assert.equal(
      (await runInstaller(c, installArgs(namespace, "--tls", "none", "--web-image", "kwok.invalid/crash:1"))).code,
      5,
    );
    const removed = await runInstaller(c, ["uninstall", "--namespace", namespace, "--yes", "--non-interactive"]);
    assert.equal(removed.code, 0, removed.stderr);
    const left = await kubectl(c, [
      "-n",
      namespace,
      "get",
      "statefulset,deployment,job,configmap,service",
      "-o",
      "name",
      "-l",
      "app.kubernetes.io/part-of=mathison",
    ]);
    assert.equal(left.stdout.trim(), "", "nothing of the install is left");
    assert.equal((await kubectl(c, ["get", `clusterrole/mathison-${namespace}`])).code, 1, "its ClusterRole is gone");
  });

  it("after uninstall, a re-install defaults to the release that last migrated the kept data, and says so", async () => {
    const namespace = fresh("e2e-reinstall");
    assert.equal((await runInstaller(c, installArgs(namespace, "--tls", "none", "--tag", "1.2.0"))).code, 0);
    assert.equal(
      (await runInstaller(c, ["uninstall", "--namespace", namespace, "--yes", "--non-interactive"])).code,
      0,
    );
    const again = await runInstaller(c, installArgs(namespace, "--tls", "none"));
    assert.equal(again.code, 0, again.stderr);
    const web = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
    assert.equal(web.spec.template.spec.containers[0].image, "mathison-web:1.2.0", "not latest");
    const plan = again.events.find((e) => e.event === "plan");
    assert.ok(
      plan.notices.some((n: string) =>
        /the kept database \(Secret .*mathison-secrets\) was last migrated by mathison-web:1\.2\.0: this install defaults to that release/.test(
          n,
        ),
      ),
      JSON.stringify(plan.notices),
    );
    // A tag given on purpose still wins, and the plan says the data will be migrated.
    assert.equal(
      (await runInstaller(c, ["uninstall", "--namespace", namespace, "--yes", "--non-interactive"])).code,
      0,
    );
    const newer = await runInstaller(c, installArgs(namespace, "--tls", "none", "--tag", "1.3.0"));
    assert.equal(newer.code, 0, newer.stderr);
    assert.ok(
      newer.events
        .find((e) => e.event === "plan")
        .notices.some((n: string) => /runs mathison-web:1\.3\.0 and migrates the data to it/.test(n)),
    );
  });

  it("an install whose verification fails: one verdict (`done` agrees with exit 10) with what to do next; the preflight warned that no controller serves the class", async () => {
    const namespace = fresh("e2e-verdict");
    const ingressClass = `unserved-${namespace}`;
    assert.equal(
      (
        await kubectl(
          c,
          ["apply", "-f", "-"],
          `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: ${ingressClass}}
spec: {controller: k8s.io/ingress-nginx}
`,
        )
      ).code,
      0,
    );
    after(() => kubectl(c, ["delete", "ingressclass", ingressClass, "--ignore-not-found"]).then(() => undefined));
    const args = [
      "install",
      "--non-interactive",
      "--output",
      "json",
      "--namespace",
      namespace,
      "--domain",
      `${namespace}.e2e.test`,
      "--tls",
      "none",
      "--ingress-class",
      ingressClass,
    ];
    const run = await runInstaller(c, args);
    assert.equal(run.code, 10, run.stderr);
    const preflight = run.events.find(
      (e) => e.event === "check" && e.phase === "preflight" && e.id === "ingress-class",
    );
    assert.equal(preflight.status, "warn");
    assert.match(
      preflight.message,
      /^no ingress-nginx controller pod runs in the cluster: the web UI is unreachable until a controller serves class unserved-/,
    );
    const dones = run.events.filter((e) => e.event === "done");
    assert.equal(dones.length, 1, "one verdict");
    const done = run.events.at(-1);
    assert.equal(done.event, "done", "the verdict is the last event");
    assert.deepEqual([done.ok, done.outcome], [false, "verify-failed"]);
    assert.match(
      done.message,
      /^Mathison is installed in namespace \S+, but verification failed \(.*ingress-address.*\): it does not work end to end yet$/,
    );
    assert.equal(done.next.at(-1), `mathison-install verify --namespace ${namespace}`);
    assert.ok(done.next.length >= 2, JSON.stringify(done.next));
    // Plain: the same verdict as the last lines, with the steps numbered.
    const plain = await runInstaller(
      c,
      args.filter((a) => a !== "--output" && a !== "json"),
    );
    assert.equal(plain.code, 10);
    const tail = plain.stderr.trimEnd().split("\n");
    assert.match(tail.at(-1)!, new RegExp(`^  \\d+\\. mathison-install verify --namespace ${namespace}$`));
    assert.ok(tail.includes("  what to do next:"), plain.stderr);
    // status: healthy workloads, and the failed verification in its headline (the exit code judges the workloads).
    const status = await runInstaller(c, ["status", "--namespace", namespace]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(
      status.stdout.replace(/\n/g, " "),
      /: healthy; last verification failed \([^)]*ingress-address[^)]*\); to see why, mathison-install verify --namespace \S+/,
    );
  });

  it("NO_COLOR=1 turns the Ink screens' colours off (escape sequences read from the terminal); without it they are coloured", {
    skip: tmuxMissing(),
  }, async () => {
    const flags = (ns: string) =>
      `--namespace ${ns} --domain ${ns}.example.com --ingress-class nginx --tls none --tag 1.0.0 --web-image mathison-web --worker-image mathison-worker --llm-provider anthropic --mode self-hosted --base-domain apps.example.com --postgres-url '' --redis-url ''`;
    const env = {
      KUBECONFIG: c.kubeconfig,
      PATH: process.env["PATH"] ?? "",
      ANTHROPIC_API_KEY: "sk-ant-env",
      MATHISON_AUTH_SECRET: "a".repeat(44),
      MATHISON_POSTGRES_PASSWORD: "p".repeat(32),
    };
    const bin = `${process.execPath} ${join(PACKAGE_ROOT, "bin", "mathison-install.js")}`;
    const screens: string[] = [];
    for (const noColor of [true, false]) {
      const namespace = fresh(noColor ? "e2e-nocolor" : "e2e-color");
      const t = new Terminal(
        `${bin} install --skip-verify ${flags(namespace)}`,
        noColor ? { ...env, NO_COLOR: "1" } : env,
      );
      try {
        await t.waitFor(/\? Install\?/);
        t.send("Enter");
        assert.equal(await t.exitCode(), 0, t.history());
        screens.push(t.screenWithEscapes());
      } finally {
        t.close();
      }
    }
    const colour = /\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[25])[;m]/;
    assert.match(screens[0]!, /Mathison is installed/);
    assert.doesNotMatch(screens[0]!, colour, "no colour with NO_COLOR");
    assert.match(screens[1]!, colour, "the same screen is coloured without it");
  });

  it("the support bundle written when a first install fails holds the objects, the namespace's events, pod descriptions and the failing pod's current and previous logs", async () => {
    const namespace = fresh("e2e-bundle-first");
    const failed = await runInstaller(
      c,
      installArgs(namespace, "--tls", "none", "--web-image", "kwok.invalid/crash:1"),
    );
    assert.equal(failed.code, 5, failed.stderr);
    const path = failed.events.find((e) => e.event === "support-bundle")?.path;
    assert.ok(path, JSON.stringify(failed.events.filter((e) => e.event === "support-bundle")));
    const files = [...readTarGz(readFileSync(path)).keys()];
    for (const expected of [
      /^objects\/StatefulSet-postgres\.yaml$/,
      /^objects\/Job-mathison-migrate-/,
      /^objects\/ClusterRole-mathison-/,
      /^namespace-events\.txt$/,
      /^pods\/mathison-migrate-.*\.txt$/,
      /^logs\/mathison-migrate-[^/]+\/migrate\.log$/,
      /^logs\/mathison-migrate-[^/]+\/migrate\.previous\.log$/,
    ]) {
      assert.ok(
        files.some((f) => expected.test(f)),
        `${expected} in ${files.join(", ")}`,
      );
    }
  });
});

describe("the checkout's script", () => {
  it("its hints name it, as the newcomer typed it", async () => {
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn("bash", ["scripts/mathison-install.sh", "frobnicate"], {
        cwd: PACKAGE_ROOT,
        env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "" },
        stdio: ["ignore", "ignore", "pipe"],
      });
      const err: Buffer[] = [];
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.on("close", (code) => resolve({ code, stderr: Buffer.concat(err).toString() }));
    });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /try: bash scripts\/mathison-install\.sh --help lists them/);
  });
});

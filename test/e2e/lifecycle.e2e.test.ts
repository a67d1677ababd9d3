// `status` and `uninstall` against the real test cluster.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { clusterScopedName } from "../../src/render/customise.js";
import { kubectl, kubectlJson, testCluster, uniqueNamespace, type TestCluster } from "../helpers/cluster.js";
import { holdLockElsewhere, installArgs, runInstaller, tidy, reported } from "../helpers/install.js";
import { Terminal, tmuxMissing } from "../helpers/terminal.js";
import { PACKAGE_ROOT } from "../../src/base/paths.js";

const { cluster, skip } = testCluster();

const status = (c: TestCluster, namespace: string, ...extra: string[]) =>
  runInstaller(c, ["status", "--namespace", namespace, ...extra]);
const uninstall = (c: TestCluster, namespace: string, ...extra: string[]) =>
  runInstaller(c, ["uninstall", "--non-interactive", "--output", "json", "--namespace", namespace, ...extra]);

/** Every object of the install still in the cluster, cluster-scoped ones included. */
async function leftovers(c: TestCluster, namespace: string): Promise<string[]> {
  const ns = await kubectlJson<{ items: any[] }>(c, [
    "-n",
    namespace,
    "get",
    "all,configmap,secret,serviceaccount,ingress,networkpolicy,poddisruptionbudget,pvc,lease",
  ]);
  const cs = await kubectl(c, [
    "get",
    `clusterrole/${clusterScopedName(namespace)}`,
    `clusterrolebinding/${clusterScopedName(namespace)}`,
    "-o",
    "name",
  ]);
  return [...ns.items.map((o) => `${o.kind}/${o.metadata.name}`), ...cs.stdout.split("\n").filter(Boolean)]
    .filter((o) => o !== "ConfigMap/kube-root-ca.crt" && o !== "ServiceAccount/default")
    .sort();
}

const secretValue = async (c: TestCluster, namespace: string, key: string) =>
  Buffer.from(
    (await kubectlJson(c, ["-n", namespace, "get", "secret/mathison-secrets"])).data[key],
    "base64",
  ).toString();

describe("status", { skip }, () => {
  const c = cluster!;
  const namespace = uniqueNamespace("e2e-status");
  after(() => tidy(c, namespace));

  it("on a healthy install: exit 0, every workload Ready, answers and runs", async () => {
    assert.equal((await runInstaller(c, installArgs(namespace, "--tag", "1.0.0", "--tls", "none"))).code, 0);
    const run = await status(c, namespace, "--output", "json");
    assert.equal(run.code, 0, run.stderr);
    const s = reported(run);
    assert.equal(s.healthy, true);
    assert.deepEqual(
      run.events.map((e) => e.event),
      ["report", "done"],
      "a report, then the verdict",
    );
    assert.equal(run.events[1].outcome, "ok");
    assert.deepEqual(s.workloads.map((w: any) => `${w.object} ${w.state}`).sort(), [
      "Deployment/mathison-web Ready",
      "Deployment/mathison-worker Ready",
      "StatefulSet/postgres Ready",
      "StatefulSet/redis Ready",
    ]);
    assert.equal(s.migration.state, "completed");
    assert.equal(s.installed.webImage, "mathison-web:1.0.0");
    assert.deepEqual(
      s.answers.find((a: any) => a.key === "domain"),
      { key: "domain", value: `${namespace}.e2e.test`, origin: "given" },
    );
    assert.equal(s.answers.find((a: any) => a.key === "webReplicas").origin, "default");
    assert.deepEqual(
      s.secrets.map((x: any) => x.set),
      [true, true, true],
    );
    assert.ok(!run.stdout.includes("sk-ant-test"), "no secret value");
    assert.equal(s.history.length, 1);
    assert.equal(s.lock, null);
    const plain = await status(c, namespace);
    assert.equal(plain.code, 0);
    assert.match(plain.stdout, /^Mathison in namespace \S+ \(context \S+\): healthy$/m);
    for (const line of plain.stdout.split("\n")) assert.ok(line.length <= 80, `fits 80 columns: ${line}`);
  });

  it("on a degraded install: names the crash-looping workload, exit 7", async () => {
    assert.equal(
      (await kubectl(c, ["-n", namespace, "set", "image", "deployment/mathison-web", "web=kwok.invalid/crash:1"])).code,
      0,
    );
    for (let i = 0; ; i++) {
      const run = await status(c, namespace, "--output", "json");
      const web = reported(run).workloads.find((w: any) => w.object === "Deployment/mathison-web");
      if (web.state === "Degraded" && /CrashLoopBackOff/.test(web.message)) {
        assert.equal(run.code, 7);
        assert.equal(run.events.at(-1).outcome, "unhealthy", "the verdict agrees with exit 7");
        break;
      }
      assert.ok(i < 50, `web reported as degraded: ${JSON.stringify(web)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const plain = await status(c, namespace);
    assert.match(plain.stdout, /NOT healthy/);
    assert.match(
      plain.stdout,
      /^ {2}Degraded {4}Deployment\/mathison-web\n {6}CrashLoopBackOff: pod mathison-web-\S+, container web:\s+restarted 3 times/m,
    );
    for (const line of plain.stdout.split("\n")) assert.ok(line.length <= 80, `fits 80 columns: ${line}`);
  });

  it("on a namespace without an install: a clear message and exit 8", async () => {
    const run = await status(c, uniqueNamespace("e2e-nothing"));
    assert.equal(run.code, 8);
    assert.match(run.stderr, /^mathison-install: no Mathison install in namespace e2e-nothing-\w+/m);
    const json = await status(c, uniqueNamespace("e2e-nothing"), "--output", "json");
    assert.equal(json.code, 8);
    assert.deepEqual(
      json.events.map((e) => `${e.event} ${e.outcome}`),
      ["done not-installed"],
      "no report, and the verdict agrees with exit 8",
    );
  });
});

describe("uninstall", { skip }, () => {
  const c = cluster!;
  const namespace = uniqueNamespace("e2e-uninstall");
  after(() => tidy(c, namespace));

  it("refuses while another run holds the lock, and without --yes when not interactive", async () => {
    assert.equal((await runInstaller(c, installArgs(namespace))).code, 0);
    const noYes = await runInstaller(c, ["uninstall", "--non-interactive", "--namespace", namespace]);
    assert.equal(noYes.code, 2);
    assert.match(noYes.stderr, /^mathison-install: --yes: missing/m);
    const holder = await holdLockElsewhere(c, namespace, { user: "ana", host: "laptop", pid: 7, context: "prod" });
    const before = await leftovers(c, namespace);
    const locked = await uninstall(c, namespace, "--yes");
    assert.equal(locked.code, 6, locked.stderr);
    assert.match(locked.stderr, /holds the install's lock: ana@laptop \(pid 7, context prod\)/);
    assert.deepEqual(await leftovers(c, namespace), before, "nothing was deleted");
    await holder.stop();
    await kubectl(c, ["-n", namespace, "delete", "lease/mathison-install-lock"]);
  });

  it("removes everything but the claims and the Secret; a re-install opens them with the same password", async () => {
    const password = await secretValue(c, namespace, "POSTGRES_PASSWORD");
    const claimUid = (await kubectlJson(c, ["-n", namespace, "get", "pvc/data-postgres-0"])).metadata.uid;
    const run = await uninstall(c, namespace, "--yes");
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const plan = run.events.find((e) => e.event === "plan");
    assert.equal(plan.operation, "uninstall");
    assert.ok(
      plan.impact.some((i: any) =>
        /^stays: PersistentVolumeClaim\/data-postgres-0 \(10Gi, StorageClass standard; reclaim policy Delete: deleting the claim deletes the data\)$/.test(
          i.message,
        ),
      ),
      JSON.stringify(plan.impact),
    );
    assert.ok(
      plan.changes.some(
        (ch: any) => ch.object === `ClusterRole/${clusterScopedName(namespace)}` && ch.action === "delete",
      ),
    );
    assert.equal(run.events.at(-1).ok, true);
    assert.deepEqual(await leftovers(c, namespace), [
      "PersistentVolumeClaim/data-postgres-0",
      "PersistentVolumeClaim/data-redis-0",
      "Secret/mathison-secrets",
    ]);

    const again = await runInstaller(c, installArgs(namespace), { ANTHROPIC_API_KEY: "" });
    assert.equal(again.code, 0, again.stderr + again.stdout);
    assert.equal(
      await secretValue(c, namespace, "POSTGRES_PASSWORD"),
      password,
      "the kept password opens the kept database",
    );
    assert.equal(
      (await kubectlJson(c, ["-n", namespace, "get", "pvc/data-postgres-0"])).metadata.uid,
      claimUid,
      "the same claim, so the same data",
    );
  });

  it("--delete-data removes the claims, the Secret and the namespace too", async () => {
    const run = await uninstall(c, namespace, "--yes", "--delete-data");
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.ok(
      run.events
        .find((e) => e.event === "plan")
        .impact.some((i: any) => i.message.startsWith("deleted for good: PersistentVolumeClaim/data-postgres-0")),
    );
    assert.equal((await kubectl(c, ["get", "namespace", namespace])).code, 1, "namespace gone");
    assert.equal((await kubectl(c, ["get", `clusterrole/${clusterScopedName(namespace)}`])).code, 1);
  });
});

describe("uninstall in a terminal", { skip: skip || tmuxMissing() }, () => {
  const c = cluster!;
  const namespace = uniqueNamespace("e2e-uninstall-tty");
  const terminals: Terminal[] = [];
  after(async () => {
    for (const t of terminals) t.close();
    await tidy(c, namespace);
  });

  it("Enter at the typed confirmation cancels: said as a cancel (exit 11), nothing deleted", async () => {
    const ns = uniqueNamespace("e2e-uninstall-cancel");
    after(() => tidy(c, ns));
    assert.equal((await runInstaller(c, installArgs(ns))).code, 0);
    const t = new Terminal(
      `${process.execPath} ${join(PACKAGE_ROOT, "bin", "mathison-install.js")} uninstall --namespace ${ns}`,
      { KUBECONFIG: c.kubeconfig, PATH: process.env["PATH"] ?? "" },
    );
    terminals.push(t);
    await t.waitFor(/\(Enter cancels\)/);
    t.send("Enter");
    assert.equal(await t.exitCode(), 11, t.history());
    const screen = t.screen();
    assert.match(screen, /› Type \S+ to delete Mathison \(Enter cancels\)\s+cancelled/);
    assert.doesNotMatch(screen, /✔ Type/);
    assert.match(screen, /Cancelled: nothing was deleted\./);
    assert.equal((await kubectl(c, ["-n", ns, "get", "deployment/mathison-web"])).code, 0, "still installed");
  });

  it("asks for the namespace name before deleting, and shows the removal live", async () => {
    assert.equal((await runInstaller(c, installArgs(namespace))).code, 0);
    const t = new Terminal(
      `${process.execPath} ${join(PACKAGE_ROOT, "bin", "mathison-install.js")} uninstall --namespace ${namespace}`,
      { KUBECONFIG: c.kubeconfig, PATH: process.env["PATH"] ?? "" },
    );
    terminals.push(t);
    const screen = await t.waitFor(/\? Type e2e-uninstall-tty-\w+ to delete Mathison \(Enter cancels\)/);
    assert.match(t.history().replace(/\n/g, " "), /stays: PersistentVolumeClaim\/data-postgres-0/);
    assert.match(screen, /stays: Secret\/mathison-secrets/);
    t.type("wrong-name");
    t.send("Enter");
    await t.waitFor(/Type e2e-uninstall-tty-\w+ exactly \(empty cancels\)/);
    t.send("C-u");
    t.type(namespace);
    t.send("Enter");
    assert.equal(await t.exitCode(), 0, t.history());
    assert.match(t.screen(), /✔ Mathison was removed from namespace e2e-uninstall-tty-\w+/);
    // What a shell reads when the lines are pasted: a backslash before the line's end joins them.
    const pasted = t.screen().replace(/ \\\n\s*/g, " ");
    assert.match(
      pasted,
      /to delete them for good:\s+kubectl -n e2e-uninstall-tty-\w+ delete pvc\/data-postgres-0 pvc\/data-redis-0 secret\/mathison-secrets && kubectl delete namespace e2e-uninstall-tty-\w+/,
    );
    for (const line of t.screen().split("\n")) assert.ok(line.length <= 80, `fits the terminal: ${line}`);
    assert.match(t.history(), /Removing from/);
    assert.deepEqual(await leftovers(c, namespace), [
      "PersistentVolumeClaim/data-postgres-0",
      "PersistentVolumeClaim/data-redis-0",
      "Secret/mathison-secrets",
    ]);
  });
});

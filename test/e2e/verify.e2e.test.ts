// `mathison-install verify` against the real test cluster: every check passes on a healthy
// install, and each fails for its real reason when that part is broken.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { clusterScopedName } from "../../src/render/render.js";
import { kubectl, kubectlJson, testCluster, uniqueNamespace, type TestCluster } from "../helpers/cluster.js";
import { installArgs, runInstaller, tidy, type InstallRun } from "../helpers/install.js";

const { cluster, skip } = testCluster();

const verify = (c: TestCluster, namespace: string) => runInstaller(c, ["verify", "--namespace", namespace, "--output", "json"]);
const result = (run: InstallRun, id: string) => run.events.find((e) => e.event === "check" && e.id === id);

async function failsFor(c: TestCluster, namespace: string, id: string, message: RegExp): Promise<void> {
  for (let i = 0; ; i++) {
    const run = await verify(c, namespace);
    const r = result(run, id);
    if (r.status === "fail" && message.test(r.message)) {
      assert.equal(run.code, 10);
      assert.ok(r.hint.length > 0, "a failure says what to do");
      return;
    }
    assert.ok(i < 50, `${id} fails: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

describe("verify", { skip }, () => {
  const c = cluster!;
  const namespace = uniqueNamespace("e2e-verify");
  after(() => tidy(c, namespace));

  it("no ingress controller has picked the Ingress up: fails for that, everything else passes", async () => {
    assert.equal((await runInstaller(c, installArgs(namespace, "--tls", "none"))).code, 0);
    const run = await verify(c, namespace);
    assert.equal(run.code, 10, run.stderr);
    const checks = run.events.filter((e) => e.event === "check");
    assert.ok(checks.every((e) => e.phase === "verify"));
    assert.deepEqual(checks.filter((e) => e.status !== "pass").map((e) => e.id), ["ingress-address"]);
    assert.match(result(run, "ingress-address").message, /^no ingress controller has picked this Ingress up/);
    assert.match(result(run, "migration").message, /completed: the migrations were applied/);
    assert.match(result(run, "service-account").message, new RegExp(`system:serviceaccount:${namespace}:mathison may create namespaces`));
  });

  it("passes once a controller published an address", async () => {
    // What an ingress controller does when it takes the Ingress.
    assert.equal((await kubectl(c, ["-n", namespace, "patch", "ingress/mathison-web", "--subresource=status", "--type=merge", "-p", '{"status":{"loadBalancer":{"ingress":[{"ip":"127.0.0.1"}]}}}'])).code, 0);
    const run = await verify(c, namespace);
    assert.equal(run.code, 0, JSON.stringify(run.events.filter((e) => e.status !== "pass")));
    assert.equal(result(run, "ingress-address").message, "served at 127.0.0.1 by class nginx");
    const status = JSON.parse((await runInstaller(c, ["status", "--namespace", namespace, "--output", "json"])).stdout);
    assert.equal(status.lastVerification.ok, true, "status shows the last verification");
    assert.deepEqual(status.lastVerification.failed, []);
  });

  it("each check fails for its real reason", async () => {
    await kubectl(c, ["-n", namespace, "annotate", "--overwrite", "ingress/mathison-web", "nginx.ingress.kubernetes.io/proxy-buffering=on"]);
    await failsFor(c, namespace, "sse", /proxy-buffering=off/);
    const status = await runInstaller(c, ["status", "--namespace", namespace]);
    assert.match(status.stdout, /^Last verification: just now, failed: sse$/m);
    await kubectl(c, ["-n", namespace, "patch", "configmap/mathison-config", "--type=merge", "-p", '{"data":{"AUTH_URL":"https://elsewhere.example.com"}}']);
    await failsFor(c, namespace, "auth-url", /^AUTH_URL is https:\/\/elsewhere.example.com, the Ingress serves http:\/\/e2e-verify-\w+\.e2e\.test/);
    await kubectl(c, ["delete", `clusterrolebinding/${clusterScopedName(namespace)}`]);
    await failsFor(c, namespace, "service-account", /may not create namespaces; create deployments.apps; get pods\/log; create pods\/exec/);
    await kubectl(c, ["-n", namespace, "set", "image", "deployment/mathison-worker", "worker=mathison-worker:other"]);
    await failsFor(c, namespace, "worker", /^runs mathison-worker:other, the install record says mathison-worker:latest/);
    await kubectl(c, ["-n", namespace, "scale", "statefulset/redis", "--replicas=0"]);
    await failsFor(c, namespace, "endpoints", /^Service redis has no ready endpoint/);
    await kubectl(c, ["-n", namespace, "delete", "jobs", "--all"]);
    await failsFor(c, namespace, "migration", /^no migration Job in the namespace/);
    assert.equal((await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"])).status.readyReplicas, 2, "web was not touched");
  });

  it("a namespace without an install: exit 8", async () => {
    const run = await runInstaller(c, ["verify", "--namespace", uniqueNamespace("e2e-none")]);
    assert.equal(run.code, 8);
  });
});

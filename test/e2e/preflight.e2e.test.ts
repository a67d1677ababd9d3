// The preflight against the real test cluster: each check made to fail for its real reason, with
// nothing applied.
import assert from "node:assert/strict";
import { PREFLIGHT_CHECKS } from "../../src/checks/preflight/index.js";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { clusterScopedName } from "../../src/render/customise.js";
import {
  ingressControllerStandIn,
  installCertManagerCrd,
  kubectl,
  testCluster,
  type TestCluster,
} from "../helpers/cluster.js";
import { freshNamespaces, installArgs, runInstaller, type InstallRun } from "../helpers/install.js";

const { cluster, skip } = testCluster();

const check = (run: InstallRun, id: string) => run.events.find((e) => e.event === "check" && e.id === id);

async function nothingApplied(c: TestCluster, namespace: string, run: InstallRun): Promise<void> {
  assert.equal(run.code, 9, run.stderr + run.stdout);
  assert.equal(run.events.at(-1).outcome, "preflight-failed");
  assert.ok(!run.events.some((e) => e.event === "apply"), "nothing applied");
  assert.equal((await kubectl(c, ["get", `clusterrole/${clusterScopedName(namespace)}`])).code, 1, "no ClusterRole");
}

/** A kubeconfig for a ServiceAccount that may do everything inside one namespace and nothing else. */
async function namespaceScopedKubeconfig(c: TestCluster, namespace: string): Promise<string> {
  const setup = `apiVersion: v1
kind: ServiceAccount
metadata: {name: limited, namespace: ${namespace}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: everything-here, namespace: ${namespace}}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: limited, namespace: ${namespace}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: everything-here}
subjects: [{kind: ServiceAccount, name: limited, namespace: ${namespace}}]
`;
  assert.equal((await kubectl(c, ["create", "namespace", namespace])).code, 0);
  assert.equal((await kubectl(c, ["apply", "-f", "-"], setup)).code, 0);
  const token = (await kubectl(c, ["-n", namespace, "create", "token", "limited"])).stdout.trim();
  const admin = parseYaml(readFileSync(c.kubeconfig, "utf8"));
  const server = admin.clusters[0].cluster;
  const path = join(mkdtempSync(join(tmpdir(), "mathison-limited-")), "config");
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${server.server}", certificate-authority: "${server["certificate-authority"]}"}}]
users: [{name: limited, user: {token: "${token}"}}]
contexts: [{name: limited, context: {cluster: c, user: limited, namespace: ${namespace}}}]
current-context: limited
`,
    { mode: 0o600 },
  );
  return path;
}

describe("preflight", { skip }, () => {
  const c = cluster!;
  const fresh = freshNamespaces(c);
  after(async () => {
    await kubectl(c, [
      "annotate",
      "--overwrite",
      "storageclass/standard",
      "storageclass.kubernetes.io/is-default-class=true",
    ]);
    await kubectl(c, ["taint", "nodes", "kwok-node-0", "mathison.test/broken-", "--overwrite"]);
    await kubectl(c, ["delete", "crd", "clusterissuers.cert-manager.io", "--ignore-not-found"]);
  });

  it("passes on a healthy cluster, each check reported as a `check` event", async () => {
    const namespace = fresh("e2e-pre-ok");
    // An ingress-nginx controller pod (KWOK runs it): the class is served.
    const removeController = await ingressControllerStandIn(c);
    const run = await runInstaller(c, installArgs(namespace, "--tls", "none", "--dry-run"));
    assert.equal(run.code, 0, run.stderr);
    const checks = run.events.filter((e) => e.event === "check");
    assert.deepEqual(
      checks.map((e) => e.id).sort(),
      PREFLIGHT_CHECKS.filter((x) => !x.applies)
        .map((x) => x.id)
        .sort(),
      "every check, but your own databases' (external.e2e)",
    );
    assert.ok(
      checks.every((e) => e.phase === "preflight" && e.status === "pass"),
      JSON.stringify(checks.filter((e) => e.status !== "pass")),
    );
    assert.match(
      check(run, "storage").message,
      /^the default StorageClass standard \(provisioner kubernetes.io\/host-path, binding Immediate\)/,
    );
    assert.match(
      check(run, "permissions").message,
      /^all \d+ requests the run makes are allowed \(every verb on every resource is\)$/,
    );
    assert.match(
      check(run, "ingress-class").message,
      /IngressClass nginx \(controller k8s.io\/ingress-nginx, the cluster default\); \d+ ready ingress-nginx controller pods?$/,
    );
    await removeController();
  });

  it("`preflight` runs the same checks alone and writes nothing", async () => {
    const namespace = fresh("e2e-pre-cmd");
    const ok = await runInstaller(c, [
      "preflight",
      "--namespace",
      namespace,
      "--domain",
      "x.e2e.test",
      "--tls",
      "none",
      "--output",
      "json",
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const n = PREFLIGHT_CHECKS.filter((x) => !x.applies).length;
    assert.equal(ok.events.filter((e) => e.event === "check").length, n);
    assert.match(
      ok.events.at(-1).message,
      new RegExp(`^preflight: \\d+ of ${n} checks passed(, \\d+ with a warning)?; nothing was written$`),
    );
    const bad = await runInstaller(c, [
      "preflight",
      "--namespace",
      "kube-system",
      "--domain",
      "x.e2e.test",
      "--tls",
      "none",
    ]);
    assert.equal(bad.code, 9);
    assert.match(bad.stderr, /✖ Namespace: kube-system is a system namespace/);
    assert.equal((await kubectl(c, ["get", "namespace", namespace])).code, 1, "nothing written");
  });

  it("no default StorageClass: fails naming it, before anything is applied", async () => {
    const namespace = fresh("e2e-pre-sc");
    await kubectl(c, [
      "annotate",
      "--overwrite",
      "storageclass/standard",
      "storageclass.kubernetes.io/is-default-class=false",
    ]);
    const run = await runInstaller(c, installArgs(namespace));
    await kubectl(c, [
      "annotate",
      "--overwrite",
      "storageclass/standard",
      "storageclass.kubernetes.io/is-default-class=true",
    ]);
    await nothingApplied(c, namespace, run);
    assert.match(
      check(run, "storage").message,
      /the claims name no StorageClass and the cluster has no default one \(classes: standard\)/,
    );
    assert.equal((await kubectl(c, ["get", "namespace", namespace])).code, 1, "no namespace");
  });

  it("credentials limited to one namespace: one list of every missing permission, and a role that would do", async () => {
    const namespace = fresh("e2e-pre-rbac");
    const kubeconfig = await namespaceScopedKubeconfig(c, namespace);
    const run = await runInstaller(c, installArgs(namespace, "--kubeconfig", kubeconfig, "--tls", "none"));
    await nothingApplied(c, namespace, run);
    const perms = check(run, "permissions");
    assert.equal(perms.status, "fail");
    for (const missing of [
      "create namespaces",
      "patch namespaces",
      "create clusterroles.rbac.authorization.k8s.io",
      "create clusterrolebindings.rbac.authorization.k8s.io",
    ]) {
      assert.ok(perms.message.includes(missing), `names ${missing}: ${perms.message}`);
    }
    assert.ok(!perms.message.includes(`create deployments.apps in ${namespace}`), "what the Role allows is not listed");
    assert.match(perms.hint, /kind: ClusterRole\n/);
    assert.equal(check(run, "capacity").status, "skip", "nodes may not be read: said, not failed");
    assert.equal(
      (
        await kubectl(c, ["-n", namespace, "get", "deployment,statefulset,configmap/mathison-install", "-o", "name"])
      ).stdout.trim(),
      "",
      "nothing in the namespace",
    );
  });

  it("a tainted node: the capacity check names the taint", async () => {
    const namespace = fresh("e2e-pre-taint");
    await kubectl(c, ["taint", "nodes", "kwok-node-0", "mathison.test/broken=true:NoSchedule"]);
    const run = await runInstaller(c, installArgs(namespace, "--tls", "none"));
    await kubectl(c, ["taint", "nodes", "kwok-node-0", "mathison.test/broken-"]);
    await nothingApplied(c, namespace, run);
    assert.match(
      check(run, "capacity").message,
      /no node can run \S+'s pod: kwok-node-0 has the taint mathison.test\/broken=true:NoSchedule, which the pod does not tolerate/,
    );
  });

  it("cert-manager TLS: missing cert-manager, then a ClusterIssuer that does not exist, fail", async () => {
    const namespace = fresh("e2e-pre-tls");
    const noCrd = await runInstaller(c, installArgs(namespace, "--tls", "cert-manager:letsencrypt"));
    await nothingApplied(c, namespace, noCrd);
    assert.match(check(noCrd, "tls").message, /^cert-manager is not installed/);
    await installCertManagerCrd(c, "ClusterIssuer");
    const noIssuer = await runInstaller(c, installArgs(namespace, "--tls", "cert-manager:letsencrypt"));
    await nothingApplied(c, namespace, noIssuer);
    assert.equal(check(noIssuer, "tls").message, "ClusterIssuer letsencrypt does not exist");
  });

  it("a namespace running other workloads is refused unless --force-namespace", async () => {
    const namespace = fresh("e2e-pre-ns");
    assert.equal((await kubectl(c, ["create", "namespace", namespace])).code, 0);
    assert.equal(
      (await kubectl(c, ["-n", namespace, "run", "someone-else", "--image=busybox", "--restart=Never"])).code,
      0,
    );
    const refused = await runInstaller(c, installArgs(namespace, "--tls", "none"));
    await nothingApplied(c, namespace, refused);
    assert.match(check(refused, "namespace").message, new RegExp(`^${namespace} runs 1 other pod \\(someone-else\\)`));
    const forced = await runInstaller(c, installArgs(namespace, "--tls", "none", "--force-namespace"));
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(check(forced, "namespace").status, "warn");
  });
});

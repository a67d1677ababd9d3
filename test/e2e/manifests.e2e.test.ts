// The rendered stack and the plain manifests against a real API server, controllers, scheduler
// and KWOK: every object is accepted (Pod Security restricted enforced), every workload becomes
// Ready or Complete, PVCs bind, and the ServiceAccount gets exactly the access seed 001 checks.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { planYaml } from "../../src/render/output.js";
import { clusterScopedName, migrationJobName } from "../../src/render/customise.js";
import { renderPlan } from "../../src/render/render.js";
import { cleanup, kubectl, kubectlJson, testCluster, uniqueNamespace, type TestCluster } from "../helpers/cluster.js";
import { configFrom } from "../helpers/plan.js";
import { MANIFESTS_DIR } from "../../src/base/paths.js";

const { cluster, skip } = testCluster();

async function podSecurityRejections(c: TestCluster, namespace: string): Promise<string[]> {
  const events = await kubectlJson<{ items: any[] }>(c, ["-n", namespace, "get", "events"]);
  return events.items
    .filter(
      (e) =>
        ["ReplicaSet", "StatefulSet", "Job"].includes(e.involvedObject.kind) && /PodSecurity|forbidden/.test(e.message),
    )
    .map((e) => `${e.involvedObject.kind}/${e.involvedObject.name}: ${e.message}`);
}

async function must(c: TestCluster, args: string[], input?: string): Promise<string> {
  const r = await kubectl(c, args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}\n${r.stderr}`);
  return r.stdout;
}

describe("rendered stack, server-side applied", { skip }, () => {
  const c = cluster!;
  const namespace = uniqueNamespace("e2e-render");
  const config = configFrom({ namespace, domain: "mathison.e2e.test", tag: "1.0.0" });
  const plan = renderPlan(config);
  after(() =>
    cleanup(c, namespace, [
      `clusterrole/${clusterScopedName(namespace)}`,
      `clusterrolebinding/${clusterScopedName(namespace)}`,
    ]),
  );

  it("is accepted as a whole and every workload becomes Ready or Complete", async () => {
    const applied = await must(
      c,
      ["apply", "--server-side", "--field-manager=mathison-e2e", "-f", "-"],
      planYaml(plan, { showSecrets: true }),
    );
    const count = plan.stages.reduce((n, s) => n + s.objects.length, 0);
    assert.equal(applied.trim().split("\n").length, count, applied);

    const ns = ["-n", namespace];
    await must(c, [...ns, "rollout", "status", "statefulset/postgres", "--timeout=90s"]);
    await must(c, [...ns, "rollout", "status", "statefulset/redis", "--timeout=90s"]);
    await must(c, [
      ...ns,
      "wait",
      "--for=condition=Complete",
      `job/${migrationJobName(config.webImage)}`,
      "--timeout=90s",
    ]);
    await must(c, [...ns, "rollout", "status", "deployment/mathison-web", "--timeout=90s"]);
    await must(c, [...ns, "rollout", "status", "deployment/mathison-worker", "--timeout=90s"]);

    const web = await kubectlJson(c, [...ns, "get", "deployment/mathison-web"]);
    assert.equal(web.status.readyReplicas, 2);
    const pvcs = await kubectlJson<{ items: any[] }>(c, [...ns, "get", "pvc"]);
    assert.deepEqual(pvcs.items.map((p) => `${p.metadata.name}=${p.status.phase}`).sort(), [
      "data-postgres-0=Bound",
      "data-redis-0=Bound",
    ]);
    assert.deepEqual(await podSecurityRejections(c, namespace), []);
  });

  it("a re-apply of the same plan changes no object", async () => {
    const before = await kubectlJson<{ items: any[] }>(c, [
      "-n",
      namespace,
      "get",
      "deploy,sts,svc,cm,secret,ingress,networkpolicy,pdb,job",
    ]);
    await must(
      c,
      ["apply", "--server-side", "--field-manager=mathison-e2e", "-f", "-"],
      planYaml(plan, { showSecrets: true }),
    );
    const afterApply = await kubectlJson<{ items: any[] }>(c, [
      "-n",
      namespace,
      "get",
      "deploy,sts,svc,cm,secret,ingress,networkpolicy,pdb,job",
    ]);
    const versions = (l: { items: any[] }) =>
      Object.fromEntries(l.items.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]));
    // Status updates of workloads may still bump resourceVersion; compare generations for those.
    const generations = (l: { items: any[] }) =>
      Object.fromEntries(
        l.items.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.generation ?? o.metadata.resourceVersion]),
      );
    assert.deepEqual(generations(afterApply), generations(before));
    const secretKey = `Secret/mathison-secrets`;
    assert.equal(versions(afterApply)[secretKey], versions(before)[secretKey], "the Secret is unchanged");
  });

  it("the namespace really enforces Pod Security restricted", async () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "loose", namespace },
      spec: { containers: [{ name: "c", image: "busybox" }] },
    };
    const r = await kubectl(c, ["apply", "-f", "-"], JSON.stringify(pod));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /violates PodSecurity "restricted:latest"/);
  });
});

describe("manifests/ applied with kubectl as they are", { skip }, () => {
  const c = cluster!;
  const sa = "system:serviceaccount:mathison-system:mathison";
  after(() => cleanup(c, "mathison-system", ["clusterrole/mathison", "clusterrolebinding/mathison"]));

  it("kubectl apply -f manifests/ succeeds in one pass", async () => {
    const out = await must(c, ["apply", "-f", MANIFESTS_DIR]);
    assert.match(out, /namespace\/mathison-system (created|configured|unchanged)/);
    assert.match(out, /ingress.networking.k8s.io\/mathison-web (created|configured|unchanged)/);
    await must(c, ["-n", "mathison-system", "rollout", "status", "deployment/mathison-web", "--timeout=90s"]);
  });

  // kubectl reads `pods/exec` as TYPE/NAME (a pod named "exec"), so seed 001's `create pods/exec`
  // asks whether the account may create pods, which the table rightly denies. The subresources
  // are checked the way kubectl means them: `--subresource`.
  it("seed 001's four `kubectl auth can-i` checks answer yes", async () => {
    for (const args of [
      ["create", "namespaces"],
      ["create", "deployments", "--all-namespaces"],
      ["get", "pods", "--subresource=log", "--all-namespaces"],
      ["create", "pods", "--subresource=exec", "--all-namespaces"],
    ]) {
      const r = await kubectl(c, ["auth", "can-i", ...args, `--as=${sa}`]);
      assert.equal(r.stdout.trim(), "yes", `can-i ${args.join(" ")}: ${r.stdout}${r.stderr}`);
    }
  });

  it("and nothing beyond the table (the check can say no)", async () => {
    for (const args of [
      ["create", "clusterroles"],
      ["delete", "nodes"],
      ["update", "pods", "--all-namespaces"],
      ["create", "pods/exec", "--all-namespaces"],
    ]) {
      const r = await kubectl(c, ["auth", "can-i", ...args, `--as=${sa}`]);
      assert.equal(r.stdout.trim(), "no", `can-i ${args.join(" ")}`);
    }
  });
});

describe("the built-in resource table", { skip }, () => {
  it("says what the API server's discovery says for every kind in it", async () => {
    const c = cluster!;
    const { BUILTIN_RESOURCES } = await import("../../src/facts/resources.js");
    const byVersion = new Map<string, { name: string; kind: string; namespaced: boolean }[]>();
    for (const key of BUILTIN_RESOURCES.keys()) {
      const apiVersion = key.slice(0, key.lastIndexOf("/"));
      if (byVersion.has(apiVersion)) continue;
      const path = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      byVersion.set(apiVersion, JSON.parse(await must(c, ["get", "--raw", path])).resources);
    }
    for (const [key, want] of BUILTIN_RESOURCES) {
      const apiVersion = key.slice(0, key.lastIndexOf("/"));
      const kind = key.slice(key.lastIndexOf("/") + 1);
      const served = byVersion.get(apiVersion)!.find((r) => r.kind === kind && !r.name.includes("/"));
      assert.deepEqual(
        { plural: served?.name, namespaced: served?.namespaced },
        { plural: want.plural, namespaced: want.namespaced },
        key,
      );
    }
  });
});

// The preflight's pure parts: the permissions derived from a plan, quantities, placement.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { misfit, placeAll, plannedPods, type NodeRoom } from "../../src/checks/preflight/placement.js";
import { givenQuantity, parseQuantity } from "../../src/facts/quantity.js";
import {
  checkReads,
  permissionsCheckOf,
  describeAccess,
  grantedByRoles,
  requiredAccess,
  roleSnippet,
} from "../../src/checks/preflight/permissions.js";
import { PREFLIGHT_CHECKS, type PreflightContext } from "../../src/checks/preflight/index.js";
import type { PreflightCheck } from "../../src/checks/preflight/context.js";
import { runChecks, type Check } from "../../src/checks/types.js";
import { byManager } from "../../src/checks/preflight/cluster.js";
import { KubeApiError } from "../../src/kube/types.js";
import { allObjects, configFrom, render } from "../helpers/plan.js";

describe("permissions derived from the plan", () => {
  const plan = render({ namespace: "mathison" });
  const asked = requiredAccess(plan).map(describeAccess);

  it("apply of every object, in its namespace or cluster-wide", () => {
    for (const o of allObjects(plan)) {
      const probe = requiredAccess({ ...plan, stages: [{ ...plan.stages[0]!, objects: [o] }] }).map(describeAccess);
      assert.ok(
        probe.some((a) => a.startsWith("patch ")),
        `${o.kind} is patched`,
      );
    }
    assert.ok(asked.includes("create namespaces"));
    assert.ok(asked.includes("patch clusterroles.rbac.authorization.k8s.io"));
    assert.ok(asked.includes("create deployments.apps in mathison"));
    assert.ok(asked.includes("patch poddisruptionbudgets.policy in mathison"));
  });

  it("the waits, the migration log, Job cleanup and the lock", () => {
    for (const a of [
      "watch pods in mathison",
      "list events in mathison",
      "watch replicasets.apps in mathison",
      "get pods/log in mathison",
      "delete jobs.batch in mathison",
      "update leases.coordination.k8s.io in mathison",
      "list endpointslices.discovery.k8s.io in mathison",
      "create subjectaccessreviews.authorization.k8s.io",
      "create pods/exec in mathison",
    ]) {
      assert.ok(asked.includes(a), a);
    }
    assert.equal(new Set(asked).size, asked.length, "each asked once");
  });

  it("the ClusterRole's own grants, and a role snippet for what is missing", () => {
    const grants = grantedByRoles(plan).map(describeAccess);
    assert.ok(grants.includes("create namespaces"));
    assert.ok(grants.includes("delete deployments.apps"));
    const snippet = roleSnippet([
      { verb: "create", resource: "namespaces", group: "" },
      { verb: "patch", resource: "namespaces", group: "" },
      { verb: "get", resource: "pods", subresource: "log", group: "", namespace: "m" },
    ]);
    assert.match(snippet, /^- \{apiGroups: \[""\], resources: \[namespaces\], verbs: \[create, patch\]\}$/m);
    assert.match(snippet, /resources: \[pods\/log\], verbs: \[get\]/);
  });
});

describe("capacity", () => {
  it("reads quantities as Kubernetes writes them", () => {
    assert.equal(parseQuantity("200m"), 0.2);
    assert.equal(parseQuantity("1"), 1);
    assert.equal(parseQuantity("256Mi"), 256 * 2 ** 20);
    assert.equal(parseQuantity("1G"), 1e9);
    assert.equal(parseQuantity("1.5Gi"), 1.5 * 2 ** 30);
    assert.equal(parseQuantity("nope"), undefined);
  });

  const node = (name: string, cpu: number, memGi: number, extra: Partial<NodeRoom> = {}): NodeRoom => ({
    name,
    free: { cpu, memory: memGi * 2 ** 30 },
    taints: [],
    labels: {},
    ...extra,
  });
  const pods = plannedPods(allObjects(render({ webReplicas: "3" })));

  it("counts every replica of the plan", () => {
    assert.equal(pods.filter((p) => p.owner === "Deployment/mathison-web").length, 3);
    assert.equal(pods.filter((p) => p.owner.startsWith("Job/")).length, 1);
  });

  it("names why a pod does not fit: taint, cordon, selector, room", () => {
    const web = pods[0]!;
    assert.match(
      misfit(web, node("n", 8, 8, { taints: [{ key: "gpu", value: "yes", effect: "NoSchedule" }] }))!,
      /has the taint gpu=yes:NoSchedule, which the pod does not tolerate/,
    );
    assert.equal(misfit(web, node("n", 8, 8, { taints: [{ key: "soft", effect: "PreferNoSchedule" }] })), undefined);
    assert.equal(misfit(web, node("n", 8, 8, { blocked: "cordoned" })), "n is cordoned");
    assert.match(misfit(web, node("n", 0.01, 8))!, /has 10m CPU free, the pod requests/);
    assert.match(misfit({ ...web, nodeSelector: { zone: "a" } }, node("n", 8, 8))!, /lacks the label zone=a/);
  });

  it("each pod may fit alone while all of them together do not", () => {
    const nodes = [node("a", 0.5, 1), node("b", 0.5, 1)];
    const stuck = placeAll(pods, nodes);
    assert.ok(stuck, "the plan does not fit two small nodes");
    assert.equal(placeAll(pods, [node("big", 32, 64)]), undefined);
  });
});

describe("running checks", () => {
  it("runs them together, each with its own timeout; a forbidden read is a skip, not a failure", async () => {
    const checks: Check<null>[] = [
      { id: "slow", group: "g", title: "Slow", needs: [], timeoutMs: 50, run: () => new Promise(() => undefined) },
      {
        id: "denied",
        group: "g",
        title: "Denied",
        needs: ["cluster"],
        run: async () => {
          throw new KubeApiError("nodes is forbidden", 403, "Forbidden");
        },
      },
      { id: "ok", group: "g", title: "Ok", needs: [], run: async () => ({ status: "pass", message: "fine" }) },
    ];
    const seen: string[] = [];
    const out = await runChecks(checks, null, (o) => seen.push(o.id));
    assert.deepEqual(
      out.map((o) => [o.id, o.status]),
      [
        ["slow", "fail"],
        ["denied", "skip"],
        ["ok", "pass"],
      ],
    );
    assert.match(out[0]!.message, /no answer within 0.05 s/);
    assert.equal(seen.at(-1), "slow", "reported as each finishes: the slow one last");
  });
});

describe("field ownership, as the preflight says it", () => {
  it("one clause per manager, with its count and the first three objects", () => {
    const objects = ["ConfigMap/a", "Secret/b", "Service/c", "Deployment/d", "Ingress/e"];
    const owned = objects.map((object) => ({ object, managers: ["argocd-controller"] }));
    owned.push({ object: "Ingress/e", managers: ["kubectl-annotate"] });
    assert.deepEqual(byManager(owned), [
      "argocd-controller on 5 objects (ConfigMap/a, Secret/b, Service/c, and 2 more)",
      "kubectl-annotate on 1 object (Ingress/e)",
    ]);
  });
});

describe("quantities, one grammar", () => {
  it("reads the cluster's forms and takes from the user only what kubectl's users write", () => {
    assert.equal(parseQuantity("2e3"), 2000);
    assert.equal(parseQuantity("200m"), 0.2);
    assert.equal(givenQuantity("10Gi", "storage"), 10 * 2 ** 30);
    assert.equal(givenQuantity("1E", "storage"), 1e18);
    assert.equal(givenQuantity("250m", "compute"), 0.25);
    for (const bad of ["0", "0Gi", "500m", "-1Gi", "2e3", " 1Gi", "1GB", ""])
      assert.equal(givenQuantity(bad, "storage"), undefined, bad);
    assert.equal(givenQuantity("+1", "compute"), undefined);
  });
});

describe("the Permissions check knows every check's reads", () => {
  // Each check declares its reads (the compiler refuses a preflight check without them), and the
  // Permissions check asks for every one: a check that cannot read is named, not silently blind.
  it("asks for the reads the checks declare, each under its title", () => {
    const options = { domain: "m.example", tls: "cert-manager:letsencrypt" };
    const reads = checkReads({ rendered: render(options), config: configFrom(options) }, PREFLIGHT_CHECKS);
    const asked = reads.map((c) => `${c.title}: ${c.reads.map(describeAccess).join(", ")}`);
    for (const line of [
      "Storage: list storageclasses.storage.k8s.io, get persistentvolumeclaims in mathison-system",
      "IngressClass: list ingressclasses.networking.k8s.io, list pods",
      "TLS: get customresourcedefinitions.apiextensions.k8s.io, get clusterissuers.cert-manager.io",
      "Node capacity: list nodes, list pods, get apiservices.apiregistration.k8s.io",
      "Quota and limits: list resourcequotas in mathison-system, list limitranges in mathison-system",
    ])
      assert.ok(asked.includes(line), `${line}\nnot in:\n${asked.join("\n")}`);
    const declaring = PREFLIGHT_CHECKS.filter(
      (c) => c.reads({ rendered: render(options), config: configFrom(options) }).length > 0,
    );
    assert.deepEqual(
      reads.map((c) => c.title),
      declaring.map((c) => c.title),
      "every check that declares reads, and only those",
    );
  });

  it("a check added with reads is asked for; one that cannot read them is named blind", async () => {
    const looking: PreflightCheck = {
      id: "throwaway",
      group: "Cluster",
      title: "A check added by the recipe",
      needs: ["cluster"],
      reads: () => [{ verb: "list", resource: "priorityclasses", group: "scheduling.k8s.io" }],
      run: async () => ({ status: "pass", message: "fine" }),
    };
    const plan = render({ namespace: "mathison" });
    const ctx = {
      kube: {
        canI: async (q: { verb: string; resource: string }) => !(q.resource === "priorityclasses" || q.verb === "*"),
      },
      rendered: plan,
      config: configFrom({ namespace: "mathison" }),
    } as unknown as PreflightContext;
    const result = await permissionsCheckOf([looking]).run(ctx);
    assert.equal(result.status, "warn");
    assert.match(result.message, /A check added by the recipe \(list priorityclasses\.scheduling\.k8s\.io\)/);
  });
});

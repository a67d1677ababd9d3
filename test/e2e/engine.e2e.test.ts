// The engine in-process on plans a user's config cannot produce, to reach the stalls it must explain.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { applyPlan, type EngineOptions, type RunResult } from "../../src/engine/engine.js";
import type { EngineEvent, Progress, Reporter } from "../../src/engine/events.js";
import { computePlan } from "../../src/engine/plan.js";
import type { Kube } from "../../src/kube/types.js";
import { connect } from "../../src/kube/client.js";
import { clusterScopedName } from "../../src/render/customise.js";
import { renderPlan, type RenderedPlan } from "../../src/render/render.js";
import { cleanup, testCluster, uniqueNamespace } from "../helpers/cluster.js";
import { configFrom, findObject } from "../helpers/plan.js";

const { cluster, skip } = testCluster();

class Recorder implements Reporter {
  readonly events: (EngineEvent & { at: number })[] = [];
  readonly progress_: Progress[] = [];
  constructor(private readonly onEvent: (e: EngineEvent) => void = () => undefined) {}
  event(e: EngineEvent): void {
    this.events.push({ ...e, at: Date.now() });
    this.onEvent(e);
  }
  progress(p: Progress): void {
    this.progress_.push(p);
  }
}

function planFor(namespace: string, change: (plan: RenderedPlan) => void): RenderedPlan {
  const plan = renderPlan(configFrom({ namespace, domain: `${namespace}.e2e.test` }));
  change(plan);
  return plan;
}

/** Plan (into a namespace that does not exist yet) and apply, as the pipeline does after its confirm. */
async function runPlan(
  rendered: RenderedPlan,
  kube: Kube,
  reporter: Reporter,
  options: EngineOptions,
): Promise<RunResult> {
  const plan = await computePlan(rendered, kube, {
    namespaceExists: false,
    replicasGiven: true,
    previousInventory: [],
  });
  return applyPlan(plan, kube, reporter, options);
}

describe("engine stall diagnosis", { skip }, () => {
  const kube = cluster ? connect({ kubeconfig: cluster.kubeconfig }) : undefined;

  it("reports an unschedulable pod with its reason within seconds, not at the timeout", async () => {
    const namespace = uniqueNamespace("e2e-unsched");
    after(() =>
      cleanup(cluster!, namespace, [
        `clusterrole/${clusterScopedName(namespace)}`,
        `clusterrolebinding/${clusterScopedName(namespace)}`,
      ]),
    );
    const plan = planFor(namespace, (p) => {
      // More CPU than the test node (32) has.
      findObject(p, "Deployment", "mathison-web").spec.template.spec.containers[0].resources = {
        requests: { cpu: "64", memory: "256Mi" },
        limits: { cpu: "64", memory: "512Mi" },
      };
    });
    const controller = new AbortController();
    let appStarted = 0;
    const recorder = new Recorder((e) => {
      if (e.event === "stage" && e.stage === "app" && e.status === "running") appStarted = Date.now();
      if (e.event === "stall") controller.abort();
    });
    const result = await runPlan(plan, kube!, recorder, { signal: controller.signal, timeoutsMs: { app: 120_000 } });
    const stall = recorder.events.find((e) => e.event === "stall");
    assert.ok(stall && stall.event === "stall", "a stall was reported");
    assert.equal(stall.object, "Deployment/mathison-web");
    assert.equal(stall.reason, "FailedScheduling");
    assert.match(stall.message, /Insufficient cpu/);
    assert.match(stall.hint, /node/);
    assert.ok(stall.at - appStarted < 15_000, `reported after ${stall.at - appStarted} ms`);
    assert.equal(result.outcome, "interrupted");
    const done = recorder.events.at(-1)!;
    assert.ok(done.event === "done" && /Re-run the same command to resume/.test(done.resume ?? ""));
    assert.ok(recorder.progress_.some((p) => p.stage === "app" && p.waitingOn.includes("Deployment/mathison-web")));
  });

  it("fails at once when Pod Security rejects the pods, naming the rejection", async () => {
    const namespace = uniqueNamespace("e2e-psa");
    after(() =>
      cleanup(cluster!, namespace, [
        `clusterrole/${clusterScopedName(namespace)}`,
        `clusterrolebinding/${clusterScopedName(namespace)}`,
      ]),
    );
    const plan = planFor(namespace, (p) => {
      delete findObject(p, "StatefulSet", "redis").spec.template.spec.securityContext;
      delete findObject(p, "StatefulSet", "redis").spec.template.spec.containers[0].securityContext;
    });
    const started = Date.now();
    const recorder = new Recorder();
    const result = await runPlan(plan, kube!, recorder, { timeoutsMs: { backing: 120_000 } });
    assert.equal(result.outcome, "wait-failed");
    const failed = recorder.events.find((e) => e.event === "failed");
    assert.ok(failed && failed.event === "failed");
    assert.equal(failed.object, "StatefulSet/redis");
    assert.equal(failed.reason, "FailedCreate");
    assert.match(failed.message, /violates PodSecurity "restricted:latest"/);
    assert.ok(Date.now() - started < 30_000);
    assert.ok(
      !recorder.events.some((e) => e.event === "apply" && e.stage === "migrate"),
      "stopped before the migration",
    );
  });
});

import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { parseDuration } from "../../src/cli/commands/install.js";
import { diagnose, type NamespaceSnapshot } from "../../src/engine/diagnose.js";
import { changedFields } from "../../src/engine/diff.js";
import { deploymentReadiness, jobReadiness, statefulSetReadiness } from "../../src/engine/readiness.js";
import { chooseReporter } from "../../src/ui/choose-reporter.js";
import { formatPlain } from "../../src/ui/plain-reporter.js";
import type { KubeObject } from "../../src/facts/objects.js";
import { owner } from "../helpers/plan.js";

const obj = (kind: string, name: string, extra: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: "v1", kind, ...extra, metadata: { name, uid: `${name}-uid`, generation: 2 } }) as KubeObject;

describe("readiness per kind", () => {
  it("Deployment: waits for the new generation, updated and available replicas", () => {
    const d = (status: object, spec = { replicas: 2 }) =>
      deploymentReadiness(obj("Deployment", "web", { spec, status }));
    assert.equal(d({ observedGeneration: 1 }).state, "pending");
    assert.deepEqual(d({ observedGeneration: 2, updatedReplicas: 1, replicas: 2, availableReplicas: 1 }), {
      state: "pending",
      message: "1 of 2 new replicas have been updated",
    });
    assert.deepEqual(d({ observedGeneration: 2, updatedReplicas: 2, replicas: 3, availableReplicas: 2 }), {
      state: "pending",
      message: "1 old replicas are pending termination",
    });
    assert.deepEqual(d({ observedGeneration: 2, updatedReplicas: 2, replicas: 2, availableReplicas: 1 }), {
      state: "pending",
      message: "1 of 2 updated replicas are available",
    });
    assert.deepEqual(d({ observedGeneration: 2, updatedReplicas: 2, replicas: 2, availableReplicas: 2 }), {
      state: "ready",
      message: "2/2 ready",
    });
    const stuck = d({
      observedGeneration: 2,
      conditions: [
        {
          type: "Progressing",
          status: "False",
          reason: "ProgressDeadlineExceeded",
          message: "ReplicaSet has timed out progressing.",
        },
      ],
    });
    assert.equal(stuck.state, "failed");
  });
  it("StatefulSet: ready replicas and the current revision equal to the update revision", () => {
    const s = (status: object) =>
      statefulSetReadiness(
        obj("StatefulSet", "pg", { spec: { replicas: 1, updateStrategy: { type: "RollingUpdate" } }, status }),
      );
    assert.deepEqual(s({ observedGeneration: 2, readyReplicas: 0 }), {
      state: "pending",
      message: "0 of 1 replicas are ready",
    });
    assert.equal(
      s({ observedGeneration: 2, readyReplicas: 1, updatedReplicas: 1, currentRevision: "a", updateRevision: "b" })
        .state,
      "pending",
    );
    assert.deepEqual(
      s({ observedGeneration: 2, readyReplicas: 1, updatedReplicas: 1, currentRevision: "b", updateRevision: "b" }),
      { state: "ready", message: "1/1 ready" },
    );
  });
  it("Job: Complete or Failed conditions", () => {
    assert.equal(jobReadiness(obj("Job", "m", { status: { active: 1 } })).state, "pending");
    assert.deepEqual(
      jobReadiness(obj("Job", "m", { status: { conditions: [{ type: "Complete", status: "True" }] } })),
      { state: "ready", message: "completed" },
    );
    const failed = jobReadiness(
      obj("Job", "m", {
        status: {
          conditions: [
            {
              type: "Failed",
              status: "True",
              reason: "BackoffLimitExceeded",
              message: "Job has reached the specified backoff limit",
            },
          ],
        },
      }),
    );
    assert.deepEqual(failed, {
      state: "failed",
      reason: "BackoffLimitExceeded",
      message: "Job has reached the specified backoff limit",
    });
  });
});

describe("stall diagnosis", () => {
  const sts = obj("StatefulSet", "pg", {
    spec: { replicas: 1, volumeClaimTemplates: [{ metadata: { name: "data" } }] },
    status: { observedGeneration: 2 },
  });
  const pod = (status: object, spec: object = {}) =>
    ({
      ...obj("Pod", "pg-0"),
      metadata: { name: "pg-0", ownerReferences: [owner("pg-uid")] },
      spec,
      status,
    }) as KubeObject;
  const snap = (over: Partial<NamespaceSnapshot>): NamespaceSnapshot => ({
    pods: [],
    events: [],
    replicaSets: [],
    pvcs: [],
    ...over,
  });
  const event = (reason: string, message: string, kind = "Pod", name = "pg-0") =>
    ({
      apiVersion: "v1",
      kind: "Event",
      type: "Warning",
      reason,
      message,
      involvedObject: { kind, name },
      lastTimestamp: new Date().toISOString(),
      metadata: { name: `e-${reason}` },
    }) as KubeObject;
  const waiting = (reason: string, extra: object = {}) =>
    pod({
      containerStatuses: [
        { name: "postgres", image: "x", state: { waiting: { reason, message: `${reason} message` } }, ...extra },
      ],
    });

  it("is fatal for states that do not recover, with the pod and container for the logs", () => {
    for (const reason of ["ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError"]) {
      const d = diagnose(sts, snap({ pods: [waiting(reason)] }), 0);
      assert.equal(d?.reason, reason);
      assert.equal(d?.fatal, true);
      assert.equal(d?.pod, "pg-0");
      assert.equal(d?.container, "postgres");
      assert.ok(d!.hint.length > 10);
    }
  });
  it("a crash loop becomes fatal after repeated restarts, and OOMKilled says so", () => {
    assert.equal(diagnose(sts, snap({ pods: [waiting("CrashLoopBackOff", { restartCount: 1 })] }), 0)?.fatal, false);
    const d = diagnose(
      sts,
      snap({
        pods: [
          waiting("CrashLoopBackOff", {
            restartCount: 3,
            lastState: { terminated: { reason: "OOMKilled", exitCode: 137 } },
          }),
        ],
      }),
      0,
    );
    assert.equal(d?.reason, "OOMKilled");
    assert.equal(d?.fatal, true);
    assert.equal(d?.previousLogs, true);
    assert.match(d!.hint, /memory limit/);
  });
  it("Pod Security and quota rejections on the controller are fatal", () => {
    const psa = diagnose(
      sts,
      snap({
        events: [
          event(
            "FailedCreate",
            'pods "pg-0" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true',
            "StatefulSet",
            "pg",
          ),
        ],
      }),
      0,
    );
    assert.equal(psa?.fatal, true);
    assert.match(psa!.hint, /Pod Security/);
    const quota = diagnose(
      sts,
      snap({
        events: [event("FailedCreate", 'pods "pg-0" is forbidden: exceeded quota: compute', "StatefulSet", "pg")],
      }),
      0,
    );
    assert.match(quota!.hint, /ResourceQuota/);
  });
  it("scheduling and volume problems are reported but waited on", () => {
    const unschedulable = pod({
      conditions: [
        {
          type: "PodScheduled",
          status: "False",
          reason: "Unschedulable",
          message: "0/1 nodes are available: 1 Insufficient cpu.",
        },
      ],
    });
    const d = diagnose(sts, snap({ pods: [unschedulable] }), 0);
    assert.deepEqual([d?.reason, d?.fatal], ["FailedScheduling", false]);
    const unbound = pod({
      conditions: [
        {
          type: "PodScheduled",
          status: "False",
          reason: "Unschedulable",
          message: "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
        },
      ],
    });
    assert.equal(diagnose(sts, snap({ pods: [unbound] }), 0)?.reason, "WaitingForVolume");
    const pvc = {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "data-pg-0" },
      status: { phase: "Pending" },
    } as KubeObject;
    const claim = diagnose(
      sts,
      snap({
        pvcs: [pvc],
        events: [
          event(
            "ProvisioningFailed",
            'storageclass.storage.k8s.io "fast" not found',
            "PersistentVolumeClaim",
            "data-pg-0",
          ),
        ],
      }),
      0,
    );
    assert.equal(claim?.reason, "ProvisioningFailed");
    assert.match(claim!.message, /data-pg-0 is Pending: storageclass/);
    assert.match(claim!.hint, /--storage-class/);
  });
  it("ignores events from before the wait began and healthy pods", () => {
    const old = { ...event("FailedScheduling", "old news"), lastTimestamp: "2020-01-01T00:00:00Z" } as KubeObject;
    assert.equal(diagnose(sts, snap({ pods: [pod({ phase: "Running" })], events: [old] }), Date.now()), undefined);
  });
});

describe("changed fields", () => {
  it("names the paths that differ, ignoring server bookkeeping and status", () => {
    const live = {
      metadata: { name: "x", resourceVersion: "1", managedFields: [1], labels: { a: "1" } },
      spec: { replicas: 2, template: { spec: { containers: [{ image: "a:1" }] } } },
      status: { ready: 1 },
    };
    const next = {
      metadata: { name: "x", resourceVersion: "2", managedFields: [2], labels: { a: "2" } },
      spec: { replicas: 2, template: { spec: { containers: [{ image: "a:2" }] } } },
      status: { ready: 0 },
    };
    assert.deepEqual(changedFields(live, next), ["metadata.labels.a", "spec.template.spec.containers[0].image"]);
    assert.deepEqual(changedFields(live, live), []);
  });
  it("shows which Secret keys change, never the values", () => {
    const fields = changedFields(
      { data: { A: "c2VjcmV0MQ==", B: "eA==" } },
      { data: { A: "c2VjcmV0Mg==", B: "eA==" } },
    );
    assert.deepEqual(fields, ["data.A"]);
  });
});

describe("reporters", () => {
  const events = [
    {
      event: "stage",
      stage: "backing",
      index: 2,
      total: 6,
      title: "PostgreSQL and Redis",
      status: "running",
      elapsedMs: 0,
    },
    {
      event: "stall",
      stage: "backing",
      object: "StatefulSet/postgres",
      reason: "FailedScheduling",
      message: "0/1 nodes",
      hint: "add nodes",
      fatal: false,
    },
    {
      event: "failed",
      stage: "backing",
      object: "StatefulSet/postgres",
      reason: "CrashLoopBackOff",
      message: "restarted 3 times",
      hint: "read the log",
      logs: ["FATAL: bad config"],
    },
    {
      event: "done",
      ok: false,
      outcome: "wait-failed",
      elapsedMs: 1,
      applied: 9,
      total: 23,
      message: "x",
      resume: "Re-run the same command to resume",
    },
  ] as const;
  const capture = (env: Record<string, string>, isTTY: boolean, format: "plain" | "json") => {
    const stdout = new PassThrough();
    const stderr = Object.assign(new PassThrough(), { isTTY });
    let out = "";
    let err = "";
    stdout.on("data", (c) => (out += c));
    stderr.on("data", (c) => (err += c));
    const r = chooseReporter({ format, stdout, stderr, env });
    for (const e of events) r.event(e);
    r.progress({ stage: "backing", waitingOn: ["StatefulSet/postgres"], done: 1, total: 2 });
    return { out, err };
  };
  it("plain: progress on stderr, stdout clean, no ANSI without a TTY or with NO_COLOR", () => {
    for (const [env, tty] of [
      [{}, false],
      [{ NO_COLOR: "1" }, true],
    ] as const) {
      const { out, err } = capture(env, tty, "plain");
      assert.equal(out, "");
      assert.ok(!err.includes("\x1b["));
      assert.match(err, /‼ StatefulSet\/postgres: FailedScheduling: 0\/1 nodes\n {4}hint: add nodes/);
      assert.match(err, /last log lines:\n {2}│ FATAL: bad config\n {2}hint: read the log/);
      assert.match(err, /waiting on 1 change \[1\/2 done\]: StatefulSet\/postgres/);
      assert.match(err, /Re-run the same command to resume/);
    }
    assert.match(capture({}, true, "plain").err, /\x1b\[/);
  });
  it("json: one object per line on stdout with ts and the event's fields", () => {
    const { out, err } = capture({}, false, "json");
    assert.equal(err, "");
    const lines = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, events.length + 1);
    for (const l of lines) assert.ok(!Number.isNaN(Date.parse(l.ts)));
    assert.deepEqual(lines[2].logs, ["FATAL: bad config"]);
    assert.equal(lines.at(-1).event, "progress");
  });
  it("formats every event kind", () => {
    for (const e of events) assert.ok(formatPlain(e).length > 0);
  });
});

describe("--timeout durations", () => {
  it("parses units and rejects the rest", () => {
    assert.equal(parseDuration("90s"), 90_000);
    assert.equal(parseDuration("10m"), 600_000);
    assert.equal(parseDuration("1h"), 3_600_000);
    assert.equal(parseDuration("45"), 45_000);
    for (const bad of ["", "0", "ten", "5d", "-1s"]) assert.equal(parseDuration(bad), undefined, bad);
  });
});

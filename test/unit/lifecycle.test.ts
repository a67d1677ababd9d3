// status and the record's given/default marks, without a cluster.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { workloadHealth } from "../../src/engine/health.js";
import type { InstallStatus } from "../../src/pipeline/status.js";
import { answersToRecord } from "../../src/pipeline/session.js";
import { statusLines } from "../../src/ui/status-lines.js";
import { EMPTY_RECORD, lastSuccessfulRun, nextRecord, startedRecord } from "../../src/record/install-record.js";
import type { KubeObject } from "../../src/facts/objects.js";
import { allObjects, owner, render } from "../helpers/plan.js";
import { removalGroupOf } from "../../src/pipeline/removal-plan.js";

const empty = { pods: [], events: [], replicaSets: [], pvcs: [] };
const deployment = (status: Record<string, number>, generation = 1): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", uid: "d", generation },
  spec: { replicas: 2 },
  status: { observedGeneration: 1, ...status },
});

describe("workload health in one word", () => {
  it("Ready, Updating, Unavailable, Missing", () => {
    assert.equal(
      workloadHealth("D/web", deployment({ replicas: 2, updatedReplicas: 2, availableReplicas: 2 }), empty).state,
      "Ready",
    );
    assert.deepEqual(
      workloadHealth("D/web", deployment({ replicas: 3, updatedReplicas: 1, availableReplicas: 2 }), empty),
      { object: "D/web", state: "Updating", message: "1 of 2 new replicas have been updated" },
    );
    assert.equal(
      workloadHealth("D/web", deployment({ replicas: 2, updatedReplicas: 2, availableReplicas: 0 }), empty).state,
      "Unavailable",
    );
    assert.deepEqual(workloadHealth("D/web", undefined, empty), {
      object: "D/web",
      state: "Missing",
      message: "not found in the cluster",
    });
  });

  it("Degraded when pods still serve but the rollout is stuck, naming why", () => {
    const rs: KubeObject = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: "rs2",
        uid: "rs2",
        ownerReferences: [owner("d")],
        annotations: { "deployment.kubernetes.io/revision": "2" },
      },
    };
    const crashing: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web-2", ownerReferences: [owner("rs2")] },
      status: {
        containerStatuses: [
          {
            name: "web",
            restartCount: 3,
            state: { waiting: { reason: "CrashLoopBackOff" } },
            lastState: { terminated: { reason: "Error", exitCode: 1 } },
          },
        ],
      },
    };
    const web = {
      ...deployment({ replicas: 3, updatedReplicas: 1, availableReplicas: 2 }, 1),
      metadata: { name: "web", uid: "d", generation: 1, annotations: { "deployment.kubernetes.io/revision": "2" } },
    };
    const h = workloadHealth("D/web", web, { ...empty, pods: [crashing], replicaSets: [rs] });
    assert.equal(h.state, "Degraded");
    assert.match(h.message, /^CrashLoopBackOff: pod web-2, container web/);
  });
});

describe("recorded answers: given or default", () => {
  it("a default stays a default when carried over, a given value stays given", () => {
    const r = answersToRecord(
      {
        domain: { value: "a.io", field: "--domain" },
        tag: { value: "latest", field: undefined },
        webReplicas: { value: "2", field: "ConfigMap ns/mathison-install webReplicas", fromInstall: true },
        mathisonMode: { value: "saas", field: "ConfigMap ns/mathison-install mathisonMode", fromInstall: true },
        authSecret: { value: "x".repeat(44), field: "MATHISON_AUTH_SECRET" },
      },
      ["webReplicas"],
    );
    assert.deepEqual(
      r.answers,
      { domain: "a.io", tag: "latest", webReplicas: "2", mathisonMode: "saas" },
      "no secret, no namespace",
    );
    assert.deepEqual([...r.defaults].sort(), ["tag", "webReplicas"]);
  });
});

describe("status text", () => {
  const status: InstallStatus = {
    state: "installed",
    namespace: "ns",
    context: "prod",
    installed: {
      installerVersion: "0.1.0",
      installedAt: "2026-11-20T10:00:00Z",
      updatedAt: "2026-11-24T11:00:00Z",
      webImage: "mathison-web:1.2.0",
      workerImage: "mathison-worker:1.2.0",
    },
    workloads: [
      {
        object: "Deployment/mathison-web",
        state: "Degraded",
        message:
          "CrashLoopBackOff: pod mathison-web-585bf98fc9-jf2m4, container web: restarted 3 times (last exit: Error, code 1)",
      },
    ],
    migration: { object: "Job/mathison-migrate-abc", state: "completed", message: "completed" },
    answers: [
      { key: "domain", value: "chat.acme.io", origin: "given" },
      { key: "storageClass", value: "", origin: "default" },
    ],
    secrets: [
      { key: "AUTH_SECRET", set: true },
      { key: "ANTHROPIC_API_KEY", set: false },
    ],
    history: [
      {
        time: "2026-11-24T11:00:00Z",
        installerVersion: "0.1.0",
        webImage: "mathison-web:1.2.0",
        workerImage: "w",
        outcome: "ok",
        user: "ana",
        host: "laptop",
        context: "prod",
      },
    ],
    lastVerification: null,
    lock: null,
    restoring: null,
    moving: null,
    switchingRedis: null,
    rotating: false,
    gitops: null,
    healthy: false,
  };
  it("fits 80 columns without cutting a reason, and masks secrets", () => {
    const lines = statusLines(status, new Date("2026-11-24T12:00:00Z"));
    for (const l of lines) assert.ok(l.length <= 80, l);
    assert.equal(lines[0], "Mathison in namespace ns (context prod): NOT healthy");
    assert.equal(lines[2], "  installer   0.1.0; installed 4 days ago, last changed 1 hour ago");
    assert.ok(lines.join("\n").includes("restarted 3 times (last exit: Error, code 1)"));
    assert.ok(lines.includes("  storageClass       the cluster's default class  (default)"));
    assert.ok(lines.includes("  AUTH_SECRET        •••••••• (set)"));
    assert.ok(lines.includes("  ANTHROPIC_API_KEY  (not set)"));
    assert.ok(lines.includes("  2026-11-24 11:00 UTC  ok           mathison-web:1.2.0  ana@laptop"));
  });
  it("a GitOps-managed install: who applies it, and the export in the runs, its column wide enough", () => {
    const exported = { ...status.history[0]!, time: "2026-11-24T11:30:00Z", outcome: "exported (argocd)" };
    const lines = statusLines(
      {
        ...status,
        history: [...status.history, exported],
        gitops: {
          flavor: "argocd",
          name: "mathison",
          seenBy: "Deployment/mathison-web: annotation argocd.argoproj.io/tracking-id",
        },
      },
      new Date("2026-11-24T12:00:00Z"),
    );
    for (const l of lines) assert.ok(l.length <= 80, l);
    assert.ok(lines.some((l) => l.startsWith("  managed by  GitOps: the Argo CD Application mathison (seen by")));
    assert.ok(lines.includes("  2026-11-24 11:30 UTC  exported (argocd)  mathison-web:1.2.0  ana@laptop"));
    assert.ok(lines.includes("  2026-11-24 11:00 UTC  ok                 mathison-web:1.2.0  ana@laptop"));
  });
  /** The headline as one line (a command wrapped with ` \\` joined back), each line checked to fit 80 columns. */
  const headlineOf = (s: InstallStatus) => {
    const lines = statusLines(s, new Date("2026-11-24T12:00:00Z"));
    for (const l of lines) assert.ok(l.length <= 80, l);
    return lines
      .slice(0, 8)
      .join(" ")
      .replace(/ \\\s+/g, " ");
  };
  it("a move a run left unfinished is the headline, with the command that finishes it", () => {
    const moving = { to: "own" as const, url: "postgres://app@db.example.com:5432/m", since: "2026-11-24T11:30:00Z" };
    const head = headlineOf({ ...status, moving });
    assert.match(
      head,
      /MOVE NOT FINISHED .*the data goes to your own PostgreSQL \(postgres:\/\/app@db\.example\.com:5432\/m\)/,
    );
    assert.match(
      head,
      /mathison-install install --namespace ns with --postgres-url postgres:\/\/app@db\.example\.com:5432\/m and its password finishes it/,
    );
    const back = headlineOf({ ...status, moving: { to: "cluster", since: moving.since } });
    assert.match(back, /the data goes to the cluster's PostgreSQL; .*with --postgres-url "" finishes it/);
  });
  it("a switch of Redis a run left unfinished is the headline: web stopped, and the commands that finish it or go back", () => {
    const switching = { to: "own" as const, url: "rediss://cache.example.com:6380/0", since: "2026-11-24T11:30:00Z" };
    const head = headlineOf({ ...status, switchingRedis: switching });
    assert.match(
      head,
      /REDIS SWITCH NOT FINISHED .*to your own Redis \(rediss:\/\/cache\.example\.com:6380\/0\); web is stopped/,
    );
    assert.match(
      head,
      /install --namespace ns with --redis-url rediss:\/\/cache\.example\.com:6380\/0 and its password finishes it, without it starts web again/,
    );
  });
  it("a failed verification is in the headline, beside a healthy verdict", () => {
    const lines = statusLines({
      ...status,
      healthy: true,
      lastVerification: {
        time: "2026-11-24T11:30:00Z",
        ok: false,
        failed: ["ingress-address", "tls-certificate"],
        warned: [],
      },
    });
    // The command a person copies stays whole on a line of its own.
    assert.deepEqual(lines.slice(0, 3), [
      "Mathison in namespace ns (context prod): healthy; last verification failed",
      "(ingress-address, tls-certificate); to see why,",
      "mathison-install verify --namespace ns",
    ]);
  });
  it("an install no run has completed is INCOMPLETE, with how to resume or remove it, wrapped at words", () => {
    const lines = statusLines({
      ...status,
      state: "incomplete",
      history: [{ ...status.history[0]!, outcome: "wait-failed" }],
    });
    const head = lines.slice(0, 4).join(" ");
    assert.match(
      head,
      /INCOMPLETE: no run has completed yet \(the last one stopped: wait-failed, 2026-11-24 11:00 UTC\); re-run mathison-install install --namespace ns to resume, or mathison-install uninstall --namespace ns to remove it/,
    );
    for (const l of lines) assert.ok(l.length <= 80, l);
  });
});

describe("the record a run writes before its first object", () => {
  const run = {
    time: "2026-11-24T11:00:00Z",
    installerVersion: "0.1.0",
    webImage: "w:1",
    workerImage: "k:1",
    outcome: "ok",
    user: "u",
    host: "h",
    context: "c",
  };
  const answers = { answers: { domain: "new.example.com" }, defaults: [] };
  it("a first install records its answers and everything it may create", () => {
    const started = startedRecord(EMPTY_RECORD, answers, ["v1 ConfigMap ns/a"]);
    assert.deepEqual(started.answers, { domain: "new.example.com" });
    assert.deepEqual(started.inventory, ["v1 ConfigMap ns/a"]);
  });
  it("an install that ran keeps its last good answers; the inventory covers both runs", () => {
    const installed = nextRecord(EMPTY_RECORD, run, {
      answers: { domain: "old.example.com" },
      defaults: [],
      inventory: ["v1 ConfigMap ns/a"],
    });
    const started = startedRecord(installed, answers, ["v1 ConfigMap ns/b"]);
    assert.deepEqual(started.answers, { domain: "old.example.com" });
    assert.deepEqual(started.inventory, ["v1 ConfigMap ns/a", "v1 ConfigMap ns/b"]);
  });
});

describe("uninstall's order", () => {
  it("every kind an install renders (autoscaler and pull secret included) has its removal group", () => {
    const plan = render({
      domain: "m.example",
      webAutoscale: "2:4",
      registryUsername: "robot",
      registryPassword: "token-of-the-robot",
    });
    for (const kind of new Set(allObjects(plan).map((o) => o.kind)))
      assert.ok(removalGroupOf(kind) >= 0, `${kind}: add it to uninstall's GROUPS (src/pipeline/removal-plan.ts)`);
  });
});

describe("the record's history", () => {
  const entry = (outcome: string, i: number) => ({
    time: `2026-12-0${i % 9}T00:00:00Z`,
    installerVersion: "0.1.0",
    webImage: `mathison-web:${i}`,
    workerImage: "mathison-worker:1",
    outcome,
    user: "u",
    host: "h",
    context: "c",
  });

  it("keeps the last runs, and the newest that completed however many failed after it", () => {
    let record = nextRecord(EMPTY_RECORD, entry("ok", 0), { answers: {}, defaults: [], inventory: [] });
    for (let i = 1; i <= 14; i++) record = nextRecord(record, entry("interrupted", i));
    assert.equal(record.history.length, 10);
    assert.equal(lastSuccessfulRun(record)?.webImage, "mathison-web:0", "the install is still there");
    assert.equal(record.history.at(-1)?.webImage, "mathison-web:14");
    record = nextRecord(record, entry("ok", 15), { answers: {}, defaults: [], inventory: [] });
    assert.equal(record.history.length, 10);
    assert.equal(record.history[0]?.webImage, "mathison-web:6", "an older completed run goes once a newer one is kept");
  });
});

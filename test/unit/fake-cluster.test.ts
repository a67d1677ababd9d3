// The pipeline, the lock, the plan and the stage wait against an in-memory cluster: fast tests of
// the code above `kube/`. What depends on the API server itself stays in test/e2e.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mkdtempSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { acquireLock } from "../../src/engine/lock.js";
import { LockHeldError, thisProcessSpace } from "../../src/engine/lock-holder.js";
import { computePlan } from "../../src/engine/plan.js";
import { waitForStage } from "../../src/engine/wait.js";
import { NamespaceView } from "../../src/engine/view.js";
import { waitUntil, type WaitError } from "../../src/engine/wait-until.js";
import type { EngineEvent } from "../../src/engine/events.js";
import { readOnce } from "../../src/kube/read-once.js";
import { runInstallPipeline, type PipelineOptions } from "../../src/pipeline/install.js";
import { planRemoval } from "../../src/pipeline/removal-plan.js";
import { runUninstall } from "../../src/pipeline/uninstall.js";
import { resumingLine } from "../../src/ui/plan-lines.js";
import { readAllStatuses } from "../../src/pipeline/status.js";
import { allStatusLines } from "../../src/ui/status-lines.js";
import { KubeApiError } from "../../src/kube/types.js";
import { readInstallState } from "../../src/record/store.js";
import { scriptFrontEnd } from "../../src/ui/script-front-end.js";
import { CONFIG_DIGEST_ANNOTATION, LOCK_NAME, RECORD_NAME } from "../../src/facts/names.js";
import { digestWritten } from "../../src/engine/restart.js";
import { ExitCode } from "../../src/base/exit-codes.js";
import { inventoryKey, refOf, type KubeObject } from "../../src/facts/objects.js";
import { contractProblems } from "../helpers/events.js";
import { FakeKube, healthyCluster } from "../helpers/fake-kube.js";
import { capturedIO, healthyFake, pipelineOptions, readyNode } from "../helpers/fake-cluster.js";
import { allObjects, configFrom, render } from "../helpers/plan.js";
import { PREFLIGHT_CHECKS } from "../../src/checks/preflight/index.js";
import { runChecks } from "../../src/checks/types.js";

const NS = "unit-ns";
const lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: LOCK_NAME, namespace: NS };
const namespace = (name = NS): KubeObject => ({ apiVersion: "v1", kind: "Namespace", metadata: { name }, spec: {} });

function options(fake: FakeKube, extra: Partial<PipelineOptions> = {}): PipelineOptions {
  return pipelineOptions(fake, NS, extra);
}

async function install(fake: FakeKube, flags: Record<string, string> = {}, extra: Partial<PipelineOptions> = {}) {
  const io = capturedIO({ ANTHROPIC_API_KEY: "sk-unit-test" });
  const fe = scriptFrontEnd({
    flags: { namespace: NS, domain: "mathison.example", tls: "none", ...flags },
    io,
    format: "json",
    replaceSecrets: [],
  });
  const code = await runInstallPipeline(options(fake, extra), fe);
  return { code, events: io.events(), stderr: io.errors() };
}

/** A run holding the lock with a short lease, renewing it a third of the lease apart. */
const liveLock = (fake: FakeKube, leaseSeconds: number, onLost: (m: string) => void = () => undefined) =>
  acquireLock(fake, NS, "ctx", onLost, { timeoutMs: 0, onWait: () => undefined, leaseSeconds });

/** Waits until `holds` (a renewal, a loss the lock reports), up to `ms`; the tests that time a lease's absence of change wait the time itself. */
async function until(holds: () => boolean, ms = 3_000): Promise<void> {
  for (const started = Date.now(); !holds() && Date.now() - started < ms; ) await new Promise((r) => setTimeout(r, 5));
}

describe("the lock, on an in-memory cluster", () => {
  it("one holder at a time: a second run is refused naming the first; released, it is free", async () => {
    const fake = new FakeKube([namespace()]);
    const held = await liveLock(fake, 0.6);
    await assert.rejects(
      acquireLock(fake, NS, "ctx", () => undefined),
      (err: unknown) => {
        assert.ok(err instanceof LockHeldError);
        assert.equal(err.holder?.user, userInfo().username);
        return true;
      },
    );
    await held.release();
    assert.equal(fake.peek(lease), undefined);
  });

  /** Another machine's Lease, as a killed run left it: its renewTime by its own clock, `skewS` off ours. */
  const foreignLease = (fake: FakeKube, skewS: number, holder: Record<string, unknown> = {}) => {
    const then = new Date(Date.now() + skewS * 1000).toISOString();
    fake.put({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: LOCK_NAME,
        namespace: NS,
        annotations: {
          "mathison.dev/holder": JSON.stringify({
            user: "ana",
            host: "elsewhere",
            pid: 7,
            context: "prod",
            since: then,
            ...holder,
          }),
        },
      },
      spec: { holderIdentity: "ana@elsewhere", leaseDurationSeconds: 0.4, renewTime: then, acquireTime: then },
    });
  };

  for (const [clock, skewS] of [
    ["an hour behind", -3600],
    ["an hour ahead", 3600],
  ] as const) {
    it(`a lease that stopped being renewed is taken over a lease after this run first saw it, its clock ${clock} or not`, async () => {
      const fake = new FakeKube([namespace()]);
      foreignLease(fake, skewS);
      const told: string[] = [];
      const started = performance.now();
      const held = await acquireLock(fake, NS, "ctx", () => undefined, { timeoutMs: 0, onWait: (m) => told.push(m) });
      const waited = performance.now() - started;
      assert.ok(waited >= 400, `watched the whole lease by its own clock (${Math.round(waited)} ms)`);
      assert.ok(waited < 1_500, `and not much longer (${Math.round(waited)} ms)`);
      assert.equal(held.tookOverFrom?.user, "ana");
      assert.equal(held.tookOverBecause, "it stopped renewing it");
      assert.match(told.join("\n"), /held by ana@elsewhere \(pid 7\): watching up to 1 s whether it still renews it/);
      await held.release();
    });
  }

  it("a live holder whose clock is an hour behind, or a reader an hour ahead: refused once it is seen renewing, and it keeps the lock", async () => {
    const fake = new FakeKube([namespace()]);
    let lost = "";
    const live = await liveLock(fake, 0.6, (m) => (lost = m));
    const hourAhead = { now: () => new Date(Date.now() + 3_600_000), monotonic: () => performance.now() };
    const started = performance.now();
    await assert.rejects(
      acquireLock(fake, NS, "ctx", () => undefined, { timeoutMs: 0, onWait: () => undefined }, hourAhead),
      (err: unknown) => err instanceof LockHeldError && /is still renewing it/.test(err.message),
    );
    assert.ok(performance.now() - started < 600, "refused at its first renewal, before its lease could end");
    // Half a lease more, by the clock: what is checked is that nothing happens in it.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(lost, "", "the live run still holds the lock");
    assert.match(fake.peek(lease)!.spec.holderIdentity, new RegExp(`pid ${process.pid} `));
    await live.release();
  });

  it("--lock-timeout waits for a live holder to finish, then takes the lock", async () => {
    const fake = new FakeKube([namespace()]);
    const live = await liveLock(fake, 0.6);
    setTimeout(() => void live.release(), 500);
    const held = await acquireLock(fake, NS, "ctx", () => undefined, { timeoutMs: 5_000, onWait: () => undefined });
    assert.equal(held.tookOverFrom, undefined, "it was released, not taken over");
    await held.release();
  });

  it("renewals that cannot get through (the API server unreachable) for longer than a lease do not stop the run", async () => {
    const fake = new FakeKube([namespace()]);
    let lost = "";
    const held = await liveLock(fake, 0.3, (m) => (lost = m));
    fake.failing = {
      match: /^replace Lease/,
      error: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
    };
    // Longer than two leases, by the clock: what is checked is that the run is not stopped in it.
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(lost, "", "an outage is waited out");
    fake.failing = undefined;
    const renewed = fake.peek(lease)!.spec.renewTime;
    await until(() => fake.peek(lease)!.spec.renewTime !== renewed);
    assert.notEqual(fake.peek(lease)!.spec.renewTime, renewed, "renewing again once the server answers");
    await held.release();
  });

  it("renews within its (settable) lease, and tells the run when another took the lock", async () => {
    const fake = new FakeKube([namespace()]);
    let lost = "";
    const held = await liveLock(fake, 0.3, (m) => (lost = m));
    const first = fake.peek(lease)!.spec.renewTime;
    const since = performance.now();
    await until(() => fake.peek(lease)!.spec.renewTime !== first);
    assert.notEqual(fake.peek(lease)!.spec.renewTime, first, "renewed");
    assert.ok(performance.now() - since < 300, "within its lease of 0.3 s");
    assert.equal(fake.peek(lease)!.spec.leaseDurationSeconds, 0.3);
    await fake.delete(lease);
    await until(() => lost !== "");
    assert.match(lost, /taken by another run/);
    await held.release();
  });

  it("a holder of this machine whose process is gone is taken over at once; one in another PID namespace is not", async () => {
    const here = thisProcessSpace();
    assert.ok(here.bootId && here.pidNamespace, "Linux: the boot id and PID namespace are read");
    const fake = new FakeKube([namespace()]);
    const gone = { user: here.user, host: here.host, bootId: here.bootId, pidNamespace: here.pidNamespace };
    foreignLease(fake, 0, { ...gone, pid: 2 ** 22 + 1, startTime: "12345" });
    const started = performance.now();
    const held = await acquireLock(fake, NS, "ctx", () => undefined);
    assert.equal(held.tookOverBecause, "its process is gone");
    assert.ok(performance.now() - started < 300, "at once");
    await held.release();
    // The same host name in another container: its pids are not ours to judge.
    foreignLease(fake, 0, { ...gone, pidNamespace: "pid:[1]", pid: 2 ** 22 + 1, startTime: "12345" });
    const waited = await acquireLock(fake, NS, "ctx", () => undefined);
    assert.equal(waited.tookOverBecause, "it stopped renewing it", "taken over only once its lease ran out");
    await waited.release();
  });
});

describe("the namespace view's watches", () => {
  it("a view stopped while its watches start (an interrupt then) leaves none open", async () => {
    const fake = new FakeKube([namespace()]);
    const running = new NamespaceView(fake, NS);
    await running.start();
    assert.ok(fake.openWatches() > 0, "a started view watches");
    running.stop();
    assert.equal(fake.openWatches(), 0);
    const interrupted = new NamespaceView(fake, NS);
    const starting = interrupted.start();
    interrupted.stop();
    await starting;
    assert.equal(fake.openWatches(), 0, "the watches that started after stop were stopped as they arrived");
  });
});

describe("waits outside a stage, through the watches", () => {
  const podOf = (name: string): KubeObject => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS },
    spec: { containers: [] },
  });
  const hasPod = (view: NamespaceView) =>
    view.get("Pod", "p")
      ? { state: "ready" as const, message: "there" }
      : { state: "pending" as const, message: "no pod p yet" };

  it("ends when a pushed change makes it ready, and leaves no watch open", async () => {
    const fake = new FakeKube([namespace()]);
    const waiting = waitUntil(fake, NS, "pod p", hasPod, { timeoutMs: 5_000 });
    await until(() => fake.openWatches() > 0);
    assert.ok(fake.openWatches() > 0, "it watches");
    const lists = fake.count(/^list Pod/);
    await fake.create(podOf("p"));
    await waiting;
    assert.equal(fake.count(/^list Pod/), lists, "no polling: the change was pushed");
    assert.equal(fake.openWatches(), 0);
  });

  it("a timeout and an interrupt end it with why and the last state", async () => {
    const fake = new FakeKube([namespace()]);
    await assert.rejects(
      waitUntil(fake, NS, "pod p", hasPod, { timeoutMs: 100 }),
      (err: WaitError) => err.why === "timeout" && err.message === "pod p: not within 0.1 s (no pod p yet)",
    );
    const abort = new AbortController();
    const waiting = waitUntil(fake, NS, "pod p", hasPod, { timeoutMs: 5_000, signal: abort.signal });
    setTimeout(() => abort.abort(), 30);
    await assert.rejects(waiting, (err: WaitError) => err.why === "interrupted");
    assert.equal(fake.openWatches(), 0);
  });

  it("a failed state ends it at once", async () => {
    const fake = new FakeKube([namespace(), podOf("p")]);
    await assert.rejects(
      waitUntil(fake, NS, "pod p", () => ({ state: "failed", reason: "Gone", message: "it failed" }), {
        timeoutMs: 5_000,
      }),
      (err: WaitError) => err.why === "failed" && err.message === "pod p: it failed",
    );
  });
});

describe("reads of one phase", () => {
  it("readOnce: each object and list read once; a failed read is asked again", async () => {
    const fake = new FakeKube([namespace()]);
    const reads = readOnce(fake);
    await Promise.all([
      reads.get({ apiVersion: "v1", kind: "Namespace", name: NS }),
      reads.get({ apiVersion: "v1", kind: "Namespace", name: NS }),
    ]);
    await reads.list("v1", "Pod", NS);
    await reads.list("v1", "Pod", NS);
    assert.equal(fake.count(/^get Namespace\//), 1);
    assert.equal(fake.count(/^list Pod/), 1);
    assert.equal(reads.reads(), 2);
    fake.failing = { match: /^get Secret/, error: new Error("connection reset") };
    await assert.rejects(reads.get({ apiVersion: "v1", kind: "Secret", name: "s", namespace: NS }));
    fake.failing = undefined;
    assert.equal(await reads.get({ apiVersion: "v1", kind: "Secret", name: "s", namespace: NS }), undefined);
    assert.equal(fake.count(/^get Secret/), 2);
  });
});

describe("the plan, on an in-memory cluster", () => {
  it("a first install creates everything; the same plan applied is unchanged; what is no longer rendered is pruned only if it is Mathison's", async () => {
    const rendered = render({ domain: "mathison.example", namespace: NS });
    const fake = new FakeKube();
    fake.controllers.push(healthyCluster);
    const first = await computePlan(rendered, fake, {
      namespaceExists: false,
      replicasGiven: false,
      previousInventory: [],
    });
    assert.ok(first.changes.every((c) => c.action === "create"));
    for (const o of allObjects(rendered)) await fake.apply(o);
    const stray = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "gone", namespace: NS, labels: { "app.kubernetes.io/part-of": "mathison" } },
      data: {},
    };
    const foreign = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "theirs", namespace: NS }, data: {} };
    fake.put(stray);
    fake.put(foreign);
    const again = await computePlan(rendered, fake, {
      namespaceExists: true,
      replicasGiven: false,
      previousInventory: [inventoryKey(stray), inventoryKey(foreign)],
    });
    const changed = again.changes.filter((c) => c.action !== "unchanged");
    assert.deepEqual(
      changed.map((c) => `${c.action} ${c.object}`),
      ["delete ConfigMap/gone"],
    );
  });
});

describe("a stage's wait, on an in-memory cluster", () => {
  const deployment = (status: Record<string, unknown>): KubeObject => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: NS, generation: 1 },
    spec: { replicas: 1, template: { spec: { containers: [] } } },
    status: { observedGeneration: 1, ...status },
  });
  const stage = { id: "app" as const, index: 4, title: "Web and worker", objects: [] };

  async function wait(fake: FakeKube, events: EngineEvent[], timeoutMs = 5_000) {
    const view = new NamespaceView(fake, NS);
    await view.start();
    const web = fake.peek({ apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: NS })!;
    return waitForStage({
      kube: fake,
      view,
      reporter: { event: (e) => events.push(e), progress: () => undefined },
      stage,
      workloads: [web],
      appliedGeneration: new Map([["Deployment/web", 1]]),
      freshJobs: new Set(),
      timeoutMs,
      sinceMs: 0,
      logLines: 5,
    }).finally(() => view.stop());
  }

  it("ends when the rollout is done, having said how far it was", async () => {
    const fake = new FakeKube([namespace(), deployment({ replicas: 1, updatedReplicas: 0 })]);
    const events: EngineEvent[] = [];
    const waiting = wait(fake, events);
    await until(() => events.some((e) => e.event === "status"));
    fake.put(deployment({ replicas: 1, updatedReplicas: 1, availableReplicas: 1, readyReplicas: 1 }));
    await waiting;
    const said = events.filter((e) => e.event === "status").map((e) => (e as { message: string }).message);
    assert.ok(said.includes("0 of 1 new replicas have been updated"), JSON.stringify(said));
    assert.ok(said.includes("1/1 ready"), JSON.stringify(said));
  });

  it("fails at once on a rollout past its deadline, with the controller's words", async () => {
    const fake = new FakeKube([
      namespace(),
      deployment({
        conditions: [
          {
            type: "Progressing",
            status: "False",
            reason: "ProgressDeadlineExceeded",
            message: 'ReplicaSet "web-1" has timed out progressing.',
          },
        ],
      }),
    ]);
    await assert.rejects(wait(fake, []), /timed out progressing/);
  });
});

describe("the install pipeline, on an in-memory cluster", () => {
  it("installs stage by stage, records the run, frees the lock; a re-run changes nothing and reads each planned object once", async () => {
    const fake = healthyFake();
    const first = await install(fake);
    assert.equal(first.code, ExitCode.ok, first.stderr);
    const done = first.events.at(-1);
    assert.equal(done.event, "done");
    assert.equal(done.ok, true);
    assert.equal(fake.peek(lease), undefined, "lock released");
    const state = await readInstallState(fake, NS);
    assert.equal(state.record.history.at(-1)?.outcome, "ok");
    assert.ok(state.secrets.postgresPassword, "the generated password is kept");

    fake.requests.length = 0;
    const again = await install(fake);
    assert.equal(again.code, ExitCode.ok, again.stderr);
    const plan = again.events.find((e) => e.event === "plan");
    assert.ok(
      plan.changes.every((c: { action: string }) => c.action === "unchanged"),
      JSON.stringify(plan.changes.filter((c: { action: string }) => c.action !== "unchanged")),
    );
    const gets = fake.requests.filter((r) => r.startsWith("get ") && !r.startsWith("get Lease"));
    const twice = gets.filter(
      (r, i) => gets.indexOf(r) !== i && r !== `get ConfigMap/${RECORD_NAME}` && r !== "get Secret/mathison-secrets",
    );
    assert.deepEqual(
      twice,
      [],
      "no object fetched twice (the record and Secret are read again under the lock, on purpose)",
    );
    assert.equal(
      (await readInstallState(fake, NS)).secrets.postgresPassword,
      state.secrets.postgresPassword,
      "never regenerated",
    );
  });

  it("a preflight failure applies nothing and says so (exit 9)", async () => {
    const fake = healthyFake();
    fake.serverVersionAnswer = { major: "1", minor: "20", gitVersion: "v1.20.0" };
    const run = await install(fake);
    assert.equal(run.code, ExitCode.preflight, run.stderr);
    assert.match(run.stderr, /preflight failed \(.*\): nothing was applied/);
    assert.equal(
      fake.all("Namespace").some((n) => n.metadata.name === NS),
      false,
    );
  });

  it("another run's live lock: refused once seen renewing, with nothing applied (exit 6); the namespace it created stays empty", async () => {
    const fake = healthyFake([namespace()]);
    const other = await liveLock(fake, 0.6);
    const run = await install(fake);
    await other.release();
    assert.equal(run.code, ExitCode.locked, run.stderr);
    assert.match(run.stderr, /holds the install's lock.*nothing was applied/);
    assert.equal(fake.all("Deployment").length, 0);
  });

  it("`preflight` is the pipeline stopped after its checks: nothing written", async () => {
    const fake = healthyFake();
    const run = await install(fake, {}, { stopAfter: "preflight" });
    assert.equal(run.code, ExitCode.ok, run.stderr);
    assert.equal(
      run.events.filter((e) => e.event === "check").length,
      PREFLIGHT_CHECKS.filter((c) => !c.applies).length,
      "the checks of your own databases run only with them",
    );
    assert.deepEqual(
      fake.requests.filter((r) => /^(apply|create|replace|delete) /.test(r)),
      [],
    );
  });

  it("uninstall asks before it locks: a refusal leaves no Lease behind and deletes nothing", async () => {
    const fake = healthyFake();
    assert.equal((await install(fake)).code, ExitCode.ok);
    fake.requests.length = 0;
    const io = capturedIO();
    const fe = { ...scriptFrontEnd({ flags: {}, io, format: "json", replaceSecrets: [] }), confirm: async () => false };
    const code = await runUninstall(
      { cluster: {}, open: () => fake, namespace: NS, deleteData: false, timeoutMs: 5_000, lockTimeoutMs: 0 },
      fe,
    );
    assert.equal(code, ExitCode.cancelled);
    assert.deepEqual(
      fake.requests.filter((r) => /^(apply|create|replace|delete) /.test(r)),
      [],
      "no lock taken, nothing deleted",
    );
    assert.deepEqual(contractProblems(io.events(), code), [], "a cancel ends the stream with done cancelled");
    assert.equal(io.events().at(-1).outcome, "cancelled");
  });
});

describe("a run that stops with work still in the background", () => {
  it("writes nothing after its done: an old migration Job still being deleted says nothing once the run failed", async () => {
    const fake = healthyFake();
    assert.equal((await install(fake)).code, ExitCode.ok);
    fake.put({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: "mathison-migrate-0ld",
        namespace: NS,
        labels: { "app.kubernetes.io/component": "migration", "app.kubernetes.io/part-of": "mathison" },
        creationTimestamp: "2026-01-01T00:00:00Z",
      },
      spec: {},
      status: { succeeded: 1 },
    });
    // The old Job's deletion is slow; the run fails in the next stage before it ends.
    const remove = fake.delete.bind(fake);
    fake.delete = async (ref, deleteOptions) => {
      if (ref.kind === "Job") await new Promise((r) => setTimeout(r, 300));
      return remove(ref, deleteOptions);
    };
    fake.failing = {
      match: /^apply Deployment\//,
      error: new KubeApiError("the disk is on fire", 500, "InternalError"),
    };
    const io = capturedIO({ ANTHROPIC_API_KEY: "sk-unit-test" });
    const fe = scriptFrontEnd({
      flags: { namespace: NS, domain: "mathison.example", tls: "none", tag: "9.9.9" },
      io,
      format: "json",
      replaceSecrets: [],
    });
    const code = await runInstallPipeline(options(fake), fe);
    assert.notEqual(code, ExitCode.ok);
    await new Promise((r) => setTimeout(r, 600)); // the slow deletion ends meanwhile
    const events = io.events();
    assert.ok(fake.requests.includes("delete Job/mathison-migrate-0ld"), "the old Job was being deleted");
    assert.equal(events.at(-1)?.event, "done", JSON.stringify(events.slice(-3)));
    assert.deepEqual(contractProblems(events, code), []);
  });
});

describe("--delete-parked-postgres", () => {
  it("where the install keeps no parked PostgreSQL, it is refused by name before any question (exit 2)", async () => {
    const fake = healthyFake();
    assert.equal((await install(fake)).code, ExitCode.ok);
    const io = capturedIO({ ANTHROPIC_API_KEY: "sk-unit-test" });
    const fe = scriptFrontEnd({ flags: { namespace: NS }, io, format: "json", replaceSecrets: [] });
    let asked = false;
    const code = await runInstallPipeline(options(fake, { deleteParkedPostgres: true }), {
      ...fe,
      resolveAnswers: (context) => {
        asked = true;
        return fe.resolveAnswers(context);
      },
    });
    assert.equal(code, ExitCode.usage, io.errors());
    assert.match(io.errors(), /--delete-parked-postgres: .*namespace unit-ns has none/);
    assert.equal(asked, false, "refused before the answers were asked for");
  });
});

describe("a first install that stopped half-way", () => {
  it("is resumed, not upgraded: the re-run's plan names nothing installed, and the greeting says it did not complete", async () => {
    const fake = healthyFake();
    fake.failing = {
      match: /^apply Deployment\//,
      error: new KubeApiError("the disk is on fire", 500, "InternalError"),
    };
    const first = await install(fake);
    assert.notEqual(first.code, ExitCode.ok, "the first run stopped half-way");
    fake.failing = undefined;
    const state = await readInstallState(fake, NS);
    assert.match(
      resumingLine(state.record, NS, new Date(Date.parse(state.record.history.at(-1)!.time) + 120_000)),
      /^The install into namespace unit-ns did not complete: its last run stopped \(apply-failed\) 2 minutes ago\. This run resumes it/,
    );
    const second = await install(fake);
    assert.equal(second.code, ExitCode.ok, second.stderr);
    assert.equal(second.events.find((e) => e.event === "plan")?.installed, undefined, "nothing was installed yet");
    const third = await install(fake);
    assert.ok(third.events.find((e) => e.event === "plan")?.installed, "now it is");
  });
});

describe("status --all-namespaces", () => {
  it("lists every install the credentials can see, one row each, sorted by namespace", async () => {
    const fake = healthyFake([namespace("b-ns"), namespace("a-ns"), namespace("empty-ns")]);
    for (const ns of ["b-ns", "a-ns"]) {
      const io = capturedIO({ ANTHROPIC_API_KEY: "sk-unit-test" });
      const fe = scriptFrontEnd({
        flags: { namespace: ns, domain: `${ns}.example`, tls: "none" },
        io,
        format: "json",
        replaceSecrets: [],
      });
      assert.equal(await runInstallPipeline(pipelineOptions(fake, ns), fe), ExitCode.ok, io.errors());
    }
    const all = await readAllStatuses(fake);
    assert.deepEqual(
      all.map((s) => [s.namespace, s.healthy]),
      [
        ["a-ns", true],
        ["b-ns", true],
      ],
    );
    const lines = allStatusLines(all, new Date(Date.now() + 3 * 60_000));
    assert.match(lines[0]!, /^NAMESPACE\s+STATE\s+WEB IMAGE\s+LAST RUN$/);
    assert.match(lines[1]!, /^a-ns\s+healthy\s+mathison-web:\S+\s+ok, 3 minutes ago$/);
    assert.equal(lines.length, 3);
  });
});

describe("uninstall's words for the data", () => {
  it("--delete-data says the Secret goes for good; without it, that a later install reuses it", async () => {
    const fake = healthyFake();
    assert.equal((await install(fake)).code, ExitCode.ok);
    const state = await readInstallState(fake, NS);
    const secretOf = (plan: Awaited<ReturnType<typeof planRemoval>>, which: "kept" | "dataLost") =>
      plan[which].find((k) => k.object === "Secret/mathison-secrets")?.message ?? "";
    const keeping = await planRemoval(fake, state, false);
    assert.match(secretOf(keeping, "kept"), /a later install into this namespace reuses them/);
    const deleting = await planRemoval(fake, state, true);
    assert.match(secretOf(deleting, "dataLost"), /gone with the data: a later install generates new ones/);
    assert.doesNotMatch(secretOf(deleting, "dataLost"), /reuses/);
  });
});

describe("every preflight check passes on a healthy cluster and catches its fault", () => {
  const pod = (name: string, ns: string, extra: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns },
    spec: { nodeName: "node-0", containers: [{ name: "c", resources: { requests: { cpu: "7500m", memory: "1Gi" } } }] },
    status: { phase: "Running" },
    ...extra,
  });
  /** The check's status on a healthy cluster changed by `fault` (and with `values` given). */
  async function statusOf(
    id: string,
    fault: (fake: FakeKube) => void = () => undefined,
    values: Record<string, string> = {},
  ) {
    const fake = healthyFake([namespace()]);
    if (id in EXTERNAL_ANSWERS) {
      // Your own database's checks: a healthy one answers through the client pod's exec.
      values = { ...EXTERNAL_VALUES, ...values };
      fake.execAnswer = (_pod, command) => externalAnswer(command, EXTERNAL_ANSWERS.healthy!);
    }
    fault(fake);
    const rendered = render({ domain: "mathison.example", namespace: NS, tls: "none", ...values });
    const state = await readInstallState(fake, rendered.namespace);
    const check = PREFLIGHT_CHECKS.find((c) => c.id === id)!;
    const [outcome] = await runChecks([check], {
      kube: fake,
      rendered,
      config: configFrom({ domain: "mathison.example", namespace: NS, tls: "none", ...values }),
      state,
      forceNamespace: false,
    });
    return outcome!;
  }
  const faults: readonly [string, (fake: FakeKube) => void, Record<string, string>, string][] = [
    ["permissions", (f) => (f.denied = (q) => q.resource === "clusterroles" || q.resource === "*"), {}, "fail"],
    ["version", (f) => (f.serverVersionAnswer = { major: "1", minor: "20", gitVersion: "v1.20.0" }), {}, "fail"],
    ["namespace", (f) => f.put(pod("someone-elses", NS)), {}, "fail"],
    [
      "ownership",
      (f) =>
        f.put({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: {
            name: "mathison-config",
            namespace: NS,
            managedFields: [{ manager: "kubectl-edit", operation: "Update" }],
          },
          data: {},
        }),
      {},
      "warn",
    ],
    [
      "storage",
      (f) => void f.delete({ apiVersion: "storage.k8s.io/v1", kind: "StorageClass", name: "standard" }),
      {},
      "fail",
    ],
    [
      "ingress-class",
      (f) => void f.delete({ apiVersion: "networking.k8s.io/v1", kind: "IngressClass", name: "nginx" }),
      {},
      "warn",
    ],
    ["tls", () => undefined, { tls: "cert-manager:letsencrypt" }, "fail"],
    ["capacity", (f) => f.put(pod("big", "elsewhere")), {}, "fail"],
    [
      "quota",
      (f) =>
        f.put({
          apiVersion: "v1",
          kind: "ResourceQuota",
          metadata: { name: "tight", namespace: NS },
          spec: { hard: { "requests.cpu": "100m" } },
        }),
      {},
      "fail",
    ],
    // A pull secret named that does not exist in the namespace.
    ["registry", () => undefined, { imagePullSecret: "regcred" }, "fail"],
    ...(
      ["postgres-reach", "postgres-login", "postgres-version", "postgres-vector", "redis-reach", "redis-auth"] as const
    ).map(
      (id) =>
        [
          id,
          (f: FakeKube) => (f.execAnswer = (_pod, command) => externalAnswer(command, EXTERNAL_ANSWERS[id]!)),
          {},
          "fail",
        ] as [string, (fake: FakeKube) => void, Record<string, string>, string],
    ),
  ];
  for (const [id, fault, values, expected] of faults) {
    it(`${id}: pass, then ${expected} with its fault, with a hint`, async () => {
      const healthy = await statusOf(id);
      assert.equal(healthy.status, "pass", healthy.message);
      const broken = await statusOf(id, fault, values);
      assert.equal(broken.status, expected, broken.message);
      assert.ok(broken.hint, `${id} says what to do`);
    });
  }
  it("permissions: every request of the run allowed but the nodes' list: a warning naming the check that is blind, and the role it needs", async () => {
    const blind = await statusOf("permissions", (f) => {
      f.denied = (q) => q.resource === "*" || (q.resource === "nodes" && q.verb === "list");
    });
    assert.equal(blind.status, "warn", blind.message);
    assert.match(
      blind.message,
      /requests the run makes are allowed; these checks cannot read what they look at and are skipped: Node capacity \(list nodes\)$/,
    );
    assert.match(blind.hint!, /resources: \[nodes\], verbs: \[list\]/);
  });
  it("capacity on a big cluster reads the nodes a page at a time and stops once the plan fits; a plan that fits nowhere reads them all", async () => {
    const node = (i: number, cpu: string): KubeObject => readyNode(`big-${i}`, { cpu });
    const roomy = await statusOf("capacity", (f) => {
      for (let i = 1; i <= 120; i++) f.put(node(i, "8"));
    });
    assert.equal(roomy.status, "pass");
    assert.match(
      roomy.message,
      /fit on the first 50 of the cluster's 121 nodes \(the rest not read\) \(room counted on 1 of them\)/,
      "the roomiest node alone takes the plan: no other node's pods are read",
    );
    const small = await statusOf("capacity", (f) => {
      f.put(pod("big", "elsewhere"));
      for (let i = 1; i <= 20; i++) f.put(node(i, "450m"));
    });
    assert.equal(small.status, "pass", small.message);
    assert.match(small.message, /room counted on 5 of them/, "the roomiest node first, then four at a time");
    const full = await statusOf("capacity", (f) => {
      f.put(pod("big", "elsewhere"));
      for (let i = 1; i <= 120; i++) f.put(node(i, "100m"));
    });
    assert.equal(full.status, "fail");
    assert.match(full.message, /and 116 more nodes/, "every node was read and examined");
  });

  it("capacity counts pods against a node's maximum (its allocatable pods), not only CPU and memory", async () => {
    const tiny = { cpu: "1m", memory: "1Mi" };
    const full = await statusOf("capacity", (f) => {
      f.put(readyNode("node-0", { pods: "12" }));
      for (let i = 0; i < 10; i++)
        f.put(
          pod(`small-${i}`, "elsewhere", {
            spec: { nodeName: "node-0", containers: [{ name: "c", resources: { requests: tiny } }] },
          }),
        );
    });
    assert.equal(full.status, "fail", full.message);
    assert.match(full.message, /node-0 has no room for another pod \(12 of its 12 taken\)/);
  });

  it("covers every preflight check", () => {
    assert.deepEqual(faults.map(([id]) => id).sort(), PREFLIGHT_CHECKS.map((c) => c.id).sort());
  });
});

/** Your own PostgreSQL and Redis, as the preflight's client pod finds them (psql's and redis-cli's words). */
const EXTERNAL_VALUES = {
  postgresUrl: "postgres://app@db.example.com/mathison",
  postgresPassword: "app-password",
  redisUrl: "rediss://cache.example.com:6380",
  redisPassword: "redis-password",
};
const PG_OK = "150020|15.20|0.8.1|0.8.1|f|t\nmathison-probe exit 0\n";
const REDIS_OK = "PONG\nmathison-probe exit 0\n";
const EXTERNAL_ANSWERS: Readonly<Record<string, { psql: string; redis: string }>> = {
  healthy: { psql: PG_OK, redis: REDIS_OK },
  "postgres-reach": {
    psql: 'psql: error: connection to server at "db.example.com" (10.0.0.5), port 5432 failed: Connection refused\nmathison-probe exit 2\n',
    redis: REDIS_OK,
  },
  "postgres-login": {
    psql: 'psql: error: connection to server at "db.example.com", port 5432 failed: FATAL:  password authentication failed for user "app"\nmathison-probe exit 2\n',
    redis: REDIS_OK,
  },
  "postgres-version": { psql: "140011|14.11|0.8.1|0.8.1|f|t\nmathison-probe exit 0\n", redis: REDIS_OK },
  "postgres-vector": { psql: "150020|15.20|0.8.1||f|t\nmathison-probe exit 0\n", redis: REDIS_OK },
  "redis-reach": {
    psql: PG_OK,
    redis:
      "Could not connect to Redis at cache.example.com:6380: SSL_connect failed: certificate verify failed\nmathison-probe exit 1\n",
  },
  "redis-auth": {
    psql: PG_OK,
    redis: "AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\nmathison-probe exit 0\n",
  },
};
function externalAnswer(command: readonly string[], answer: { psql: string; redis: string }) {
  return { exitCode: 0, stdout: command[2]!.includes("redis-cli") ? answer.redis : answer.psql, stderr: "" };
}

describe("restarting with a new digest", () => {
  it("a write that loses to another (a controller's status) reads again and is written", async () => {
    const deployment: KubeObject = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "mathison-web", namespace: NS },
      spec: { template: { metadata: { annotations: {} }, spec: { containers: [] } } },
    };
    const fake = new FakeKube([namespace(), deployment]);
    const replace = fake.replace.bind(fake);
    let raced = false;
    fake.replace = async (obj) => {
      if (!raced) {
        raced = true;
        // Another writer between our read and our write: the version we read is stale.
        fake.put({ ...fake.peek(refOf(obj))!, status: { observedGeneration: 2 } });
      }
      return replace(obj);
    };
    const want = {
      ...deployment,
      spec: { template: { metadata: { annotations: { [CONFIG_DIGEST_ANNOTATION]: "d2" } }, spec: { containers: [] } } },
    };
    assert.equal(await digestWritten(fake, want, "d2"), true);
    const live = fake.peek(refOf(deployment))!;
    assert.equal(live.spec.template.metadata.annotations[CONFIG_DIGEST_ANNOTATION], "d2");
    assert.equal(fake.count(/^replace Deployment/), 2, "tried again once");
    assert.equal(await digestWritten(fake, want, "d2"), false, "written already: nothing to do");
  });
});

describe("the backup before a migration, when no database runs", () => {
  it("an install whose PostgreSQL is gone (an uninstall stopped half-way): no backup to take, said so, and the run completes", async () => {
    const fake = healthyFake([namespace()]);
    assert.equal((await install(fake, { tag: "1.0.0" })).code, ExitCode.ok);
    await fake.delete({ apiVersion: "apps/v1", kind: "StatefulSet", name: "postgres", namespace: NS });
    const env = { XDG_DATA_HOME: mkdtempSync(join(tmpdir(), "unit-snapshots-")) };
    const upgraded = await install(fake, { tag: "1.1.0" }, { env });
    assert.equal(upgraded.code, ExitCode.ok, upgraded.stderr);
    const plan = upgraded.events.find((e) => e.event === "plan");
    assert.match(
      plan.impact.find((i: { kind: string }) => i.kind === "backup").message,
      /^no backup before the migration: PostgreSQL is not running/,
    );
    assert.equal(fake.count(/^exec/), 0, "no pg_dump was tried");
  });
});

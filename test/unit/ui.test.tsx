import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { cleanup, render } from "ink-testing-library";
import type { EngineEvent } from "../../src/engine/events.js";
import { ProgressApp } from "../../src/ui/components/ProgressApp.js";
import { StagePane } from "../../src/ui/components/StagePane.js";
import { initialView, MAX_LOG_LINES, reduce, type ViewAction, type ViewModel } from "../../src/ui/view-model.js";
import { ViewStore } from "../../src/ui/view-store.js";

const plan: EngineEvent = {
  event: "plan",
  context: "kind-test",
  server: "https://127.0.0.1:6443",
  namespace: "mathison-system",
  dryRun: false,
  stages: [
    { id: "base", title: "Namespace and RBAC", objects: ["Namespace/mathison-system"] },
    { id: "backing", title: "PostgreSQL and Redis", objects: ["StatefulSet/postgres", "StatefulSet/redis"] },
  ],
  changes: [],
  impact: [],
  notices: [],
};
const run = (actions: ViewAction[], start: ViewModel = initialView): ViewModel =>
  actions.reduce((v, a) => reduce(v, a, 1000), start);
const strip = (s: string | undefined) => (s ?? "").replace(/\x1b\[[0-9;]*m/g, "");

/** The app's last frame once it shows `re` (Ink renders on its own schedule): up to 5 s, however loaded the machine. */
async function frameShowing(app: { lastFrame(): string | undefined }, re: RegExp): Promise<string> {
  for (let waited = 0; !re.test(strip(app.lastFrame())) && waited < 5_000; waited += 5)
    await new Promise((r) => setTimeout(r, 5));
  return strip(app.lastFrame());
}

describe("view model", () => {
  it("shows the latest step beyond the stages (a move's stop and restore) as it runs and ends", () => {
    const running = run([plan, { event: "step", step: "restore", status: "running", message: "restoring x.dump" }]);
    assert.equal(running.step, "… restore: restoring x.dump");
    const done = run(
      [{ event: "step", step: "restore", status: "done", message: "database m holds the dump" }],
      running,
    );
    assert.equal(done.step, "✔ restore: database m holds the dump");
  });

  it("follows a stage from pending to done with its resources", () => {
    let v = run([plan]);
    assert.deepEqual(
      v.stages.map((s) => s.status),
      ["pending", "pending"],
    );
    v = run(
      [
        {
          event: "stage",
          stage: "backing",
          index: 1,
          total: 2,
          title: "PostgreSQL and Redis",
          status: "running",
          elapsedMs: 0,
        },
        { event: "apply", stage: "backing", object: "StatefulSet/postgres", action: "created" },
        {
          event: "status",
          stage: "backing",
          object: "StatefulSet/postgres",
          state: "pending",
          message: "0 of 1 replicas are ready",
        },
        {
          event: "stall",
          stage: "backing",
          object: "StatefulSet/postgres",
          reason: "FailedScheduling",
          message: "Insufficient cpu",
          hint: "add nodes",
          fatal: false,
        },
        { event: "progress", stage: "backing", waitingOn: ["StatefulSet/postgres"], done: 1, total: 2 },
      ],
      v,
    );
    const pg = v.stages[1]!.resources.find((r) => r.object === "StatefulSet/postgres")!;
    assert.equal(pg.action, "created");
    assert.equal(pg.stall?.reason, "FailedScheduling");
    assert.deepEqual(v.stages[1]!.waiting, { on: ["StatefulSet/postgres"], done: 1, total: 2 });
    v = run(
      [
        { event: "status", stage: "backing", object: "StatefulSet/postgres", state: "ready", message: "1/1 ready" },
        {
          event: "stage",
          stage: "backing",
          index: 1,
          total: 2,
          title: "PostgreSQL and Redis",
          status: "done",
          elapsedMs: 1200,
        },
      ],
      v,
    );
    const ready = v.stages[1]!.resources.find((r) => r.object === "StatefulSet/postgres")!;
    assert.equal(ready.stall, undefined, "a ready resource is no longer stalled");
    assert.equal(v.stages[1]!.status, "done");
    assert.equal(v.stages[1]!.elapsedMs, 1200);
  });
  it("keeps only the last log lines, and records failure and end", () => {
    const logs = Array.from(
      { length: 20 },
      (_, i) => ({ event: "log", stage: "migrate", object: "Job/m", pod: "m-1", line: `line ${i}` }) as ViewAction,
    );
    const v = run([
      plan,
      ...logs,
      {
        event: "failed",
        stage: "backing",
        object: "StatefulSet/redis",
        reason: "ImagePullBackOff",
        message: "not found",
        hint: "check the image",
        logs: [],
      },
      {
        event: "done",
        ok: false,
        outcome: "wait-failed",
        elapsedMs: 5,
        applied: 3,
        total: 9,
        message: "x",
        resume: "Re-run to resume",
      },
    ]);
    assert.equal(v.logs.length, MAX_LOG_LINES);
    assert.equal(v.logs.at(-1)!.line, "line 19");
    assert.equal(v.failure?.reason, "ImagePullBackOff");
    assert.equal(v.done?.resume, "Re-run to resume");
  });
});

// Rendered trees hold timers (spinners): unmount every one.
afterEach(() => cleanup());

describe("panes", () => {
  const stage = (over: object) => ({
    id: "backing" as const,
    title: "PostgreSQL and Redis",
    status: "pending" as const,
    resources: [{ object: "StatefulSet/postgres" }],
    ...over,
  });
  const frame = (s: object) =>
    strip(render(<StagePane stage={stage(s) as never} index={1} total={6} now={3000} />).lastFrame());

  it("pending: a dim header, no resources", () => {
    const f = frame({});
    assert.match(f, /· \[2\/6\] PostgreSQL and Redis/);
    assert.ok(!f.includes("StatefulSet/postgres"));
  });
  it("running: spinner, elapsed time, resources with live status and progress", () => {
    const f = frame({
      status: "running",
      startedAt: 1000,
      waiting: { on: ["StatefulSet/postgres"], done: 1, total: 2 },
      resources: [
        { object: "StatefulSet/postgres", action: "created", state: "pending", message: "0 of 1 replicas are ready" },
      ],
    });
    assert.match(f, /\[2\/6\] PostgreSQL and Redis 2\.0 s/);
    assert.match(f, /waiting on 1 \[1\/2 done\]/);
    assert.match(f, /StatefulSet\/postgres\s+created\s+0 of 1 replicas are ready/);
  });
  it("stalled: the reason under the resource", () => {
    const f = frame({
      status: "running",
      startedAt: 1000,
      resources: [
        {
          object: "StatefulSet/postgres",
          action: "created",
          state: "pending",
          message: "0 of 1",
          stall: { reason: "FailedScheduling", message: "0/1 nodes are available: 1 Insufficient cpu.", hint: "h" },
        },
      ],
    });
    assert.match(f, /‼ FailedScheduling: 0\/1 nodes are available: 1 Insufficient cpu\./);
  });
  it("failed: a cross and the resources kept open", () => {
    const f = frame({
      status: "failed",
      elapsedMs: 4000,
      resources: [{ object: "StatefulSet/postgres", state: "failed", message: "BackoffLimitExceeded" }],
    });
    assert.match(f, /✖ \[2\/6\] PostgreSQL and Redis 4\.0 s/);
    assert.match(f, /StatefulSet\/postgres/);
  });
  it("done: a tick and the resources folded away", () => {
    const f = frame({
      status: "done",
      elapsedMs: 1500,
      resources: [{ object: "StatefulSet/postgres", state: "ready", message: "1/1 ready" }],
    });
    assert.match(f, /✔ \[2\/6\] PostgreSQL and Redis 1\.5 s/);
    assert.ok(!f.includes("1/1 ready"));
  });
});

describe("progress app", () => {
  it("shows the failure with its log lines and hint, then how to resume", async () => {
    const store = new ViewStore();
    const app = render(<ProgressApp store={store} url="https://chat.acme.io" onInterrupt={() => undefined} />);
    store.dispatch(plan);
    store.dispatch({
      event: "stage",
      stage: "backing",
      index: 1,
      total: 2,
      title: "PostgreSQL and Redis",
      status: "running",
      elapsedMs: 0,
    });
    store.dispatch({
      event: "failed",
      stage: "backing",
      object: "StatefulSet/postgres",
      reason: "CrashLoopBackOff",
      message: "restarted 3 times",
      hint: "its last log lines say why",
      logs: ["FATAL: data directory has wrong ownership"],
    });
    store.dispatch({
      event: "done",
      ok: false,
      outcome: "wait-failed",
      elapsedMs: 9,
      applied: 4,
      total: 9,
      message: "x",
      resume: "4 of 9 objects applied. Re-run the same command to resume",
    });
    store.flush();
    const f = await frameShowing(app, /✖ StatefulSet\/postgres: CrashLoopBackOff/);
    assert.match(f, /✖ StatefulSet\/postgres: CrashLoopBackOff/);
    assert.match(f, /│ FATAL: data directory has wrong ownership/);
    assert.match(f, /hint: its last log lines say why/);
    assert.match(f, /Re-run the same command to resume/);
    assert.match(f, /✖ install stopped: a resource failed/, "words, not the outcome's id");
    assert.doesNotMatch(f, /wait-failed/);
    app.unmount();
  });
  it("a failure's log lines wrap instead of being cut, say where the whole log is, and its row says it failed", async () => {
    const store = new ViewStore();
    const app = render(<ProgressApp store={store} url="https://chat.acme.io" onInterrupt={() => undefined} />);
    store.dispatch(plan);
    store.dispatch({
      event: "stage",
      stage: "backing",
      index: 1,
      total: 2,
      title: "PostgreSQL and Redis",
      status: "running",
      elapsedMs: 0,
    });
    store.dispatch({
      event: "status",
      stage: "backing",
      object: "StatefulSet/postgres",
      state: "pending",
      message: "0 of 1 replicas ready",
    });
    const long =
      "Error: P3009: migrate found failed migrations in the target database, new migrations will not be applied. Read more about how to resolve migration issues";
    store.dispatch({
      event: "failed",
      stage: "backing",
      object: "StatefulSet/postgres",
      reason: "CrashLoopBackOff",
      message: "restarted 3 times",
      hint: "h",
      logs: [long],
    });
    store.flush();
    const f = (await frameShowing(app, /Read/)).replace(/\s*│?\s*\n\s*│?\s*/g, " ");
    assert.ok(f.includes("new migrations will not be applied. Read more about how to resolve migration issues"), f);
    assert.match(
      f,
      /the whole log \(or logs\/ in the support bundle\): kubectl -n \S+ logs statefulset\/postgres --previous/,
    );
    assert.doesNotMatch(f, /0 of 1 replicas ready/, "the row no longer shows its last progress");
    app.unmount();
  });
  it("streams the migration log while it runs, and ends with the URL and next commands in 24 rows", async () => {
    const store = new ViewStore();
    const app = render(<ProgressApp store={store} url="https://chat.acme.io" onInterrupt={() => undefined} />);
    store.dispatch(plan);
    store.dispatch({
      event: "log",
      stage: "migrate",
      object: "Job/m",
      pod: "m-1",
      line: "All migrations have been successfully applied.",
    });
    store.flush();
    assert.match(
      await frameShowing(app, /successfully applied/),
      /migration log[\s\S]*All migrations have been successfully applied\./,
    );
    store.dispatch({
      event: "done",
      ok: true,
      outcome: "ok",
      elapsedMs: 2500,
      applied: 9,
      total: 9,
      message: "Mathison is installed in namespace mathison-system",
    });
    store.flush();
    const f = await frameShowing(app, /Mathison is installed/);
    assert.match(f, /✔ Mathison is installed in namespace mathison-system \(2\.5 s\)/);
    assert.match(f, /Open https:\/\/chat\.acme\.io/);
    assert.ok(f.split("\n").length <= 24, `${f.split("\n").length} rows`);
    app.unmount();
  });
  it("folds a burst of events into few frames", async () => {
    const store = new ViewStore();
    let notified = 0;
    store.subscribe(() => notified++);
    store.dispatch(plan);
    for (let i = 0; i < 500; i++)
      store.dispatch({
        event: "status",
        stage: "backing",
        object: "StatefulSet/postgres",
        state: "pending",
        message: `${i}`,
      });
    // The first notification, then whatever the fold still holds: one or two in all, never 501.
    for (let waited = 0; notified === 0 && waited < 5_000; waited += 5) await new Promise((r) => setTimeout(r, 5));
    store.flush();
    assert.ok(notified >= 1 && notified <= 2, `${notified} notifications for 501 events`);
    assert.equal(store.getSnapshot().stages[1]!.resources[0]!.message, "499");
  });
});

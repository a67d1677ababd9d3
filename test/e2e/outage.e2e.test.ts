// The API server goes away in the middle of a wait and comes back: the install says so at once,
// keeps waiting, and completes. And a second run whose clock is minutes ahead, against a live run
// held in a wait: it refuses, and the live run completes.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, describe, it } from "node:test";
import {
  kubectl,
  restartApiServer,
  startApiRelay,
  testCluster,
  uniqueNamespace,
  waitUntilPodsRun,
} from "../helpers/cluster.js";
import { installArgs, runInstaller, startInstaller, tidy } from "../helpers/install.js";

const { cluster, skip } = testCluster();
const TAINT = "mathison.test/hold=true:NoSchedule";

/** Resolves once the run reports its database pods unschedulable (the taint holds them); fails if it ends first. */
function stalledOnScheduling(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let seen = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      if (/"event":"stall"[^\n]*"reason":"FailedScheduling"/.test(seen)) resolve();
    });
    child.once("exit", (code) =>
      reject(new Error(`the install ended (${code}) before it stalled on scheduling:\n${seen}`)),
    );
  });
}

/** Right after a restart the API server may still refuse a write for a moment: tries again. */
async function untaint(): Promise<void> {
  for (let i = 0; ; i++) {
    const r = await kubectl(cluster!, ["taint", "nodes", "kwok-node-0", "mathison.test/hold-"]);
    if (r.code === 0 || /not found/.test(r.stderr)) return;
    assert.ok(i < 50, r.stderr);
    await new Promise((res) => setTimeout(res, 200));
  }
}

// The cluster's own controllers take their time to recover from the restart (tens of seconds at
// worst): generous time, and the suite ends only once pods run again.
describe("an API server outage during a wait", { skip, timeout: 400_000 }, () => {
  const c = cluster!;
  const namespace = uniqueNamespace("e2e-outage");
  after(async () => {
    await untaint();
    await tidy(c, namespace);
    await waitUntilPodsRun(c);
  });

  it("reports the lost connection within 2 s, and the install completes once the API server is back", async () => {
    // Holds the database stage: its pods cannot be scheduled until the taint goes.
    assert.equal((await kubectl(c, ["taint", "nodes", "kwok-node-0", TAINT, "--overwrite"])).code, 0);
    const { child, result } = startInstaller(c, installArgs(namespace, "--skip-preflight"));
    await stalledOnScheduling(child);
    const { killedAt } = await restartApiServer(c, 2000);
    await untaint();
    const run = await result;
    assert.equal(
      run.code,
      0,
      `${run.stderr}\n${run.events
        .filter((e) => ["stall", "status", "failed", "done"].includes(e.event))
        .map((e) => JSON.stringify(e))
        .join("\n")}`,
    );
    const lost = run.events.find((e) => e.event === "stall" && e.object === "API server");
    assert.ok(lost, "the outage was reported");
    assert.equal(lost.reason, "ConnectionLost");
    assert.match(lost.message, /^lost the connection to the API server; retrying/);
    assert.ok(Date.parse(lost.ts) - killedAt < 2000, `reported ${Date.parse(lost.ts) - killedAt} ms after the kill`);
    const back = run.events.find((e) => e.event === "status" && e.object === "API server");
    assert.equal(back?.message, "the connection to the API server is back");
    assert.ok(Date.parse(back.ts) > Date.parse(lost.ts));
    assert.equal(run.events.at(-1).event, "done");
    assert.equal(run.events.at(-1).ok, true);
  });

  it("a stage that times out while the API server is unreachable fails as cluster access (exit 3), not on a workload", async () => {
    const ns = uniqueNamespace("e2e-outage-timeout");
    after(() => tidy(c, ns));
    await waitUntilPodsRun(c);
    // Only this run loses the API server (a relay in between is cut): the cluster itself stays up.
    const relay = await startApiRelay(c);
    after(() => relay.close());
    assert.equal((await kubectl(c, ["taint", "nodes", "kwok-node-0", TAINT, "--overwrite"])).code, 0);
    const { child, result } = startInstaller(c, [
      // Room for the volumes to bind and the scheduler to say why, on a loaded machine too.
      ...installArgs(ns, "--skip-preflight", "--timeout", "15s"),
      "--kubeconfig",
      relay.kubeconfig,
    ]);
    await stalledOnScheduling(child);
    relay.cut();
    const run = await result;
    await untaint();
    assert.equal(run.code, 3, run.stderr);
    assert.ok(
      run.events.some((e) => e.event === "stall" && e.object === "API server"),
      "the loss was shown before the timeout",
    );
    const failed = run.events.find((e) => e.event === "failed");
    assert.equal(failed.reason, "ConnectionLost");
    assert.match(failed.message, /^lost the connection to the API server \d+ s ago and the stage timed out/);
    assert.match(
      run.events.at(-1).resume,
      /stopped in stage 3: PostgreSQL and Redis\)\. Re-run the same command to resume/,
    );
  });

  it("a graceful shutdown (SIGTERM, watches left open and silent) is reported within 2 s too, through /readyz", async () => {
    const ns = uniqueNamespace("e2e-drain");
    after(() => tidy(c, ns));
    assert.equal((await kubectl(c, ["taint", "nodes", "kwok-node-0", TAINT, "--overwrite"])).code, 0);
    const { child, result } = startInstaller(c, installArgs(ns, "--skip-preflight"));
    await stalledOnScheduling(child);
    const { killedAt } = await restartApiServer(c, 2000, "SIGTERM");
    await untaint();
    const run = await result;
    assert.equal(run.code, 0, run.stderr);
    const lost = run.events.find((e) => e.event === "stall" && e.object === "API server");
    assert.ok(lost, "the drain was reported");
    assert.ok(
      Date.parse(lost.ts) - killedAt < 2000,
      `reported ${Date.parse(lost.ts) - killedAt} ms after SIGTERM: ${lost.message}`,
    );
    assert.ok(
      run.events.some(
        (e) =>
          e.event === "status" && e.object === "API server" && e.message === "the connection to the API server is back",
      ),
    );
  });

  it("a partition (packets dropped, connections left open) is reported within a few seconds through /readyz, and healed", async () => {
    const ns = uniqueNamespace("e2e-partition");
    after(() => tidy(c, ns));
    const relay = await startApiRelay(c);
    after(() => relay.close());
    assert.equal((await kubectl(c, ["taint", "nodes", "kwok-node-0", TAINT, "--overwrite"])).code, 0);
    const { child, result } = startInstaller(c, [
      ...installArgs(ns, "--skip-preflight"),
      "--kubeconfig",
      relay.kubeconfig,
    ]);
    await stalledOnScheduling(child);
    relay.frozen(true);
    const frozenAt = Date.now();
    await new Promise((r) => setTimeout(r, 6000));
    relay.frozen(false);
    await untaint();
    const run = await result;
    assert.equal(run.code, 0, run.stderr);
    const lost = run.events.find((e) => e.event === "stall" && e.object === "API server");
    assert.ok(lost, "the partition was reported");
    assert.ok(
      Date.parse(lost.ts) - frozenAt < 4000,
      `reported ${Date.parse(lost.ts) - frozenAt} ms after the partition: ${lost.message}`,
    );
    assert.ok(
      run.events.some(
        (e) =>
          e.event === "status" && e.object === "API server" && e.message === "the connection to the API server is back",
      ),
    );
  });
});

describe("a second run whose clock is 10 minutes ahead, against a live run", { skip, timeout: 120_000 }, () => {
  const c = cluster!;
  const namespace = uniqueNamespace("e2e-skew");
  after(async () => {
    await untaint();
    await tidy(c, namespace);
  });

  it("refuses (exit 6) once it sees the live run renew; the live run keeps its lock and completes", async () => {
    // The live run waits on its database pods, holding the lock, until the taint goes.
    assert.equal((await kubectl(c, ["taint", "nodes", "kwok-node-0", TAINT, "--overwrite"])).code, 0);
    const live = startInstaller(c, installArgs(namespace, "--skip-preflight"));
    await stalledOnScheduling(live.child);
    // libfaketime moves the wall clock only: the lock's expiry is counted on the monotonic one.
    const skewed = await runInstaller(
      c,
      installArgs(namespace, "--skip-preflight"),
      { FAKETIME_DONT_FAKE_MONOTONIC: "1" },
      ["faketime", "-f", "+10m"],
    );
    assert.equal(skewed.code, 6, skewed.stderr);
    assert.match(
      skewed.stderr,
      /holds the install's lock: \S+ \(pid \d+, context \S+\) since \S+, and is still renewing it/,
    );
    const sawClock = skewed.events.find((e) => e.event === "plan")?.ts;
    assert.ok(
      sawClock && Date.parse(sawClock) - Date.now() > 9 * 60_000,
      `the second run's clock was ahead (${sawClock})`,
    );
    await untaint();
    const run = await live.result;
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /lock was taken|could not renew/);
    assert.equal(run.events.at(-1).ok, true);
  });
});

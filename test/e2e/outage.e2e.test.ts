// The API server goes away in the middle of a wait and comes back: the install says so at once,
// keeps waiting, and completes.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { kubectl, restartApiServer, testCluster, uniqueNamespace } from "../helpers/cluster.js";
import { installArgs, startInstaller, tidy } from "../helpers/install.js";

const { cluster, skip } = testCluster();
const TAINT = "mathison.test/hold=true:NoSchedule";

describe("an API server outage during a wait", { skip }, () => {
  const c = cluster!;
  const namespace = uniqueNamespace("e2e-outage");
  after(async () => {
    await kubectl(c, ["taint", "nodes", "kwok-node-0", "mathison.test/hold-"]);
    await tidy(c, namespace);
  });

  it("reports the lost connection within 2 s, and the install completes once the API server is back", async () => {
    // Holds the database stage: its pods cannot be scheduled until the taint goes.
    assert.equal((await kubectl(c, ["taint", "nodes", "kwok-node-0", TAINT, "--overwrite"])).code, 0);
    const { child, result } = startInstaller(c, installArgs(namespace, "--skip-preflight"));
    await new Promise<void>((resolve) => {
      let seen = "";
      child.stdout!.on("data", (chunk: Buffer) => {
        seen += chunk.toString();
        if (/"event":"stall"[^\n]*"reason":"FailedScheduling"/.test(seen)) resolve();
      });
    });
    const { killedAt } = await restartApiServer(c, 3000);
    // Right after a restart the API server may still refuse a write for a moment: try again.
    for (let i = 0; ; i++) {
      const untaint = await kubectl(c, ["taint", "nodes", "kwok-node-0", "mathison.test/hold-"]);
      if (untaint.code === 0) break;
      assert.ok(i < 50, untaint.stderr);
      await new Promise((r) => setTimeout(r, 200));
    }
    const run = await result;
    assert.equal(run.code, 0, `${run.stderr}\n${run.events.filter((e) => ["stall", "status", "failed", "done"].includes(e.event)).map((e) => JSON.stringify(e)).join("\n")}`);
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
});

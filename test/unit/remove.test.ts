// Removal group by group against the in-memory cluster: the order, what each event says, a run
// stopped before a group, and how a re-run finishes what was left.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { removeGroups, type RemovalGroup } from "../../src/engine/remove.js";
import type { EngineEvent, Progress, Reporter } from "../../src/engine/events.js";
import type { KubeObject } from "../../src/facts/objects.js";
import { FakeKube } from "../helpers/fake-kube.js";
import { contractProblems } from "../helpers/events.js";

const NS = "unit-remove";
const cm = (name: string): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: NS } });
const ref = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", name, namespace: NS });

function recorder(): Reporter & { events: EngineEvent[] } {
  const events: EngineEvent[] = [];
  return { events, event: (e) => void events.push(e), progress: (_p: Progress) => undefined };
}

const GROUPS: RemovalGroup[] = [
  { id: "edge", title: "Ingress", refs: [ref("a")] },
  { id: "app", title: "Web and worker", refs: [ref("b"), ref("c")] },
  { id: "base", title: "RBAC", refs: [ref("gone-already")] },
];

describe("removal, group by group", () => {
  it("deletes the groups in order, says deleted or unchanged per object, and ends with one done", async () => {
    const fake = new FakeKube([cm("a"), cm("b"), cm("c")]);
    const r = recorder();
    assert.equal(await removeGroups(GROUPS, NS, fake, r, { timeoutMs: 1_000, kept: ["stays: x"] }), "ok");
    assert.deepEqual(
      fake.requests.filter((q) => q.startsWith("delete")),
      ["delete ConfigMap/a", "delete ConfigMap/b", "delete ConfigMap/c", "delete ConfigMap/gone-already"],
    );
    const applied = r.events.filter((e) => e.event === "apply").map((e) => [e.object, e.action]);
    assert.deepEqual(applied, [
      ["ConfigMap/a", "deleted"],
      ["ConfigMap/b", "deleted"],
      ["ConfigMap/c", "deleted"],
      ["ConfigMap/gone-already", "unchanged"],
    ]);
    const done = r.events.at(-1)!;
    assert.deepEqual(
      contractProblems(
        r.events.map((e) => ({ ts: "t", ...e })),
        0,
      ),
      [],
    );
    assert.equal(done.event === "done" && done.applied, 4);
    assert.deepEqual(done.event === "done" && done.next, ["stays: x"], "what stays, said last");
  });

  it("an interrupt before a group stops there: done says how many were deleted and how to finish", async () => {
    const fake = new FakeKube([cm("a"), cm("b"), cm("c")]);
    const abort = new AbortController();
    const r = recorder();
    const reporter: Reporter = {
      event: (e) => {
        r.event(e);
        // Interrupted as the first group ends.
        if (e.event === "stage" && e.stage === "edge" && e.status === "done") abort.abort();
      },
      progress: () => undefined,
    };
    assert.equal(
      await removeGroups(GROUPS, NS, fake, reporter, { timeoutMs: 1_000, signal: abort.signal }),
      "interrupted",
    );
    assert.ok(fake.peek(ref("b")), "the next group was not touched");
    const done = r.events.at(-1)!;
    assert.equal(done.event, "done");
    assert.match(
      done.event === "done" ? done.resume! : "",
      /^1 of 4 objects deleted \(stopped at: Web and worker\)\. Re-run the same uninstall to finish/,
    );
    // The re-run finishes: what is gone stays gone.
    const again = recorder();
    assert.equal(await removeGroups(GROUPS, NS, fake, again, { timeoutMs: 1_000 }), "ok");
    assert.equal(fake.peek(ref("c")), undefined);
  });
});

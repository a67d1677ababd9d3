// The informer's logic (resume, backoff, re-list after 410, loss and recovery) against a scripted
// source; the real thing is exercised against a restarted kube-apiserver in test/e2e/engine.e2e.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backoffDelay, DEFAULT_BACKOFF, ListWatch, type ListWatchSource } from "../../src/kube/watch.js";
import { ClusterAccessError, KubeApiError, type ConnectionState } from "../../src/kube/types.js";
import type { KubeObject } from "../../src/facts/objects.js";

const pod = (name: string, rv: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "ns", resourceVersion: rv },
});
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

/** A source whose lists and watches do what the test scripts, one step per call. */
function scripted(
  lists: (() => { items: KubeObject[]; resourceVersion: string })[],
  watches: ((emit: (t: string, o: KubeObject) => void) => Promise<void>)[],
) {
  const calls: string[] = [];
  const source: ListWatchSource = {
    async list() {
      calls.push("list");
      const next = lists.shift();
      if (!next) throw new ClusterAccessError("no more lists");
      return next();
    },
    async watch(rv, onEvent) {
      calls.push(`watch@${rv}`);
      const next = watches.shift();
      if (!next) return { ended: new Promise<void>(() => undefined) };
      const ended = next(onEvent);
      return { ended };
    },
  };
  return { source, calls };
}

describe("list-watch", () => {
  it("backoff doubles up to its cap, jittered into the upper half", () => {
    assert.equal(
      backoffDelay(0, DEFAULT_BACKOFF, () => 0),
      100,
    );
    assert.equal(
      backoffDelay(0, DEFAULT_BACKOFF, () => 1),
      200,
    );
    assert.equal(
      backoffDelay(3, DEFAULT_BACKOFF, () => 1),
      1600,
    );
    assert.equal(
      backoffDelay(20, DEFAULT_BACKOFF, () => 1),
      DEFAULT_BACKOFF.maxMs,
    );
    assert.equal(
      backoffDelay(20, DEFAULT_BACKOFF, () => 0),
      DEFAULT_BACKOFF.maxMs / 2,
    );
  });

  it("resumes a watch the server ended from its last resourceVersion, without a new list", async () => {
    const { source, calls } = scripted(
      [() => ({ items: [pod("a", "1")], resourceVersion: "5" })],
      [async (emit) => emit("MODIFIED", pod("a", "7"))],
    );
    const seen: string[] = [];
    const w = new ListWatch(
      source,
      (t, o) => seen.push(`${t} ${o.metadata.name}`),
      () => undefined,
    );
    await w.start();
    await tick();
    w.stop();
    assert.deepEqual(calls, ["list", "watch@5", "watch@7"]);
    assert.deepEqual(seen, ["ADDED a", "MODIFIED a"]);
  });

  it("after 410 Gone re-lists, and what was deleted meanwhile arrives as DELETED", async () => {
    const { source, calls } = scripted(
      [
        () => ({ items: [pod("a", "1"), pod("b", "2")], resourceVersion: "5" }),
        () => ({ items: [pod("b", "9")], resourceVersion: "12" }),
      ],
      [
        async (emit) =>
          emit("ERROR", { apiVersion: "v1", kind: "Status", metadata: {}, code: 410 } as unknown as KubeObject),
      ],
    );
    const seen: string[] = [];
    const w = new ListWatch(
      source,
      (t, o) => seen.push(`${t} ${o.metadata.name}`),
      () => undefined,
    );
    await w.start();
    await tick();
    w.stop();
    assert.deepEqual(calls, ["list", "watch@5", "list", "watch@12"]);
    assert.deepEqual(seen, ["ADDED a", "ADDED b", "MODIFIED b", "DELETED a"]);
  });

  it("a watch opened with a too old resourceVersion (410 status) re-lists", async () => {
    let first = true;
    const calls: string[] = [];
    const source: ListWatchSource = {
      async list() {
        calls.push("list");
        return { items: [], resourceVersion: first ? "5" : "20" };
      },
      async watch(rv) {
        calls.push(`watch@${rv}`);
        if (rv === "5" && !first) throw new KubeApiError("too old", 410, "Expired");
        if (first) {
          first = false;
          return { ended: Promise.resolve() };
        }
        return { ended: new Promise<void>(() => undefined) };
      },
    };
    const w = new ListWatch(
      source,
      () => undefined,
      () => undefined,
    );
    await w.start();
    await tick();
    w.stop();
    assert.deepEqual(calls, ["list", "watch@5", "watch@5", "list", "watch@20"]);
  });

  it("reports the loss at the first failure, retries with backoff, reports the return", async () => {
    let down = 3;
    const calls: string[] = [];
    const source: ListWatchSource = {
      async list() {
        calls.push("list");
        return { items: [], resourceVersion: "5" };
      },
      async watch(rv) {
        calls.push(`watch@${rv}`);
        if (calls.length === 2) return { ended: Promise.reject(new ClusterAccessError("ECONNRESET")) };
        if (down-- > 0) throw new ClusterAccessError("ECONNREFUSED");
        return { ended: new Promise<void>(() => undefined) };
      },
    };
    const states: ConnectionState[] = [];
    const w = new ListWatch(
      source,
      () => undefined,
      (s) => states.push(s),
      { initialMs: 10, maxMs: 40, giveUpMs: 10_000 },
    );
    await w.start();
    await tick(300);
    w.stop();
    assert.equal(states.length, 2, JSON.stringify(states));
    assert.deepEqual([states[0]!.connected, states[0]!.error, states[0]!.gaveUp], [false, "ECONNRESET", false]);
    assert.equal(states[1]!.connected, true);
    assert.equal(states[1]!.since, states[0]!.since, "the return names when the loss began");
    assert.equal(calls.filter((c) => c.startsWith("watch")).length, 5, "one open, three refused, one back");
  });

  it("gives up after giveUpMs without a connection, and says so", async () => {
    let opened = false;
    const source: ListWatchSource = {
      async list() {
        return { items: [], resourceVersion: "5" };
      },
      async watch() {
        if (opened) throw new ClusterAccessError("ECONNREFUSED");
        opened = true;
        return { ended: Promise.reject(new ClusterAccessError("ECONNRESET")) };
      },
    };
    const states: ConnectionState[] = [];
    const w = new ListWatch(
      source,
      () => undefined,
      (s) => states.push(s),
      { initialMs: 5, maxMs: 10, giveUpMs: 50 },
    );
    await w.start();
    await tick(200);
    assert.equal(states.at(-1)?.gaveUp, true);
    const count = states.length;
    await tick(50);
    assert.equal(states.length, count, "stopped retrying");
  });
});

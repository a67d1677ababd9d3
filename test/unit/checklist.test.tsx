import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { cleanup, render } from "ink-testing-library";
import type { CheckOutcome } from "../../src/checks/types.js";
import { MANUAL_CHECKS } from "../../src/checks/verify/manual.js";
import { networkOptions } from "../../src/cli/commands/common.js";
import { verificationLine } from "../../src/pipeline/verify.js";
import {
  answerForKey,
  askingIndex,
  checklistDone,
  initialChecklist,
  manualAnswers,
  reduceChecklist,
  type ChecklistView,
} from "../../src/ui/checklist-model.js";
import { ChecklistApp } from "../../src/ui/components/ChecklistApp.js";
import { CheckRow } from "../../src/ui/components/CheckRow.js";

const strip = (s: string | undefined) => (s ?? "").replace(/\x1b\[[0-9;]*m/g, "");
const titles = [
  { id: "web", group: "Workloads", title: "Web" },
  { id: "redis-ping", group: "Backing services", title: "Redis answers" },
];
const outcome = (id: string, status: CheckOutcome["status"], message: string, hint?: string): CheckOutcome => {
  const t = titles.find((x) => x.id === id)!;
  return { ...t, status, message, ...(hint ? { hint } : {}) };
};
const withResults = (canAsk: boolean): ChecklistView =>
  [
    outcome("web", "pass", "2 of 2 ready"),
    outcome("redis-ping", "fail", "PING did not get PONG", "kubectl exec redis-0 -- redis-cli ping"),
  ].reduce(
    (v, o) => reduceChecklist(v, { type: "result", outcome: o }),
    initialChecklist(titles, MANUAL_CHECKS, canAsk),
  );

describe("checklist model", () => {
  it("asks the manual items in turn, only after every automated check ended", () => {
    let v = initialChecklist(titles, MANUAL_CHECKS, true);
    v = reduceChecklist(v, { type: "result", outcome: outcome("web", "pass", "ok") });
    assert.equal(askingIndex(v), undefined, "one check still runs");
    assert.equal(reduceChecklist(v, { type: "answer", answer: "yes" }), v, "a key before the asking is ignored");
    v = reduceChecklist(v, { type: "result", outcome: outcome("redis-ping", "pass", "ok") });
    assert.equal(askingIndex(v), 0);
    v = reduceChecklist(reduceChecklist(v, { type: "answer", answer: "yes" }), { type: "answer", answer: "no" });
    assert.equal(askingIndex(v), 2);
    assert.equal(checklistDone(v), false);
    v = reduceChecklist(v, { type: "answer", answer: "skip" });
    assert.equal(checklistDone(v), true);
    assert.deepEqual(manualAnswers(v), { login: "yes", "chat-streams": "no", "chat-deploys": "skip" });
  });

  it("an item whose prerequisites failed is not asked, and says which failed; a no points at a prerequisite that only warned", () => {
    const ingress = [
      { id: "ingress-address", group: "Ingress chain", title: "Ingress address" },
      { id: "sse", group: "Ingress chain", title: "Streaming (SSE) through the Ingress" },
      { id: "health", group: "Ingress chain", title: "GET /api/health" },
      { id: "auth-url", group: "Ingress chain", title: "AUTH_URL" },
    ];
    const result = (id: string, status: CheckOutcome["status"]): CheckOutcome => ({
      ...ingress.find((x) => x.id === id)!,
      status,
      message: status,
    });
    let v = ["ingress-address", "sse", "health", "auth-url"].reduce(
      (acc, id) =>
        reduceChecklist(acc, { type: "result", outcome: result(id, id === "ingress-address" ? "fail" : "pass") }),
      initialChecklist(ingress, MANUAL_CHECKS, true),
    );
    assert.equal(askingIndex(v), undefined, "every item needs the Ingress address");
    assert.ok(
      v.manual.every((m) => m.answer === "skip" && m.skippedBecause === "not asked: Ingress address failed above"),
    );
    assert.equal(checklistDone(v), true);
    v = ["ingress-address", "sse", "health", "auth-url"].reduce(
      (acc, id) => reduceChecklist(acc, { type: "result", outcome: result(id, id === "sse" ? "warn" : "pass") }),
      initialChecklist(ingress, MANUAL_CHECKS, true),
    );
    assert.equal(askingIndex(v), 0, "nothing failed: asked");
    const frame = strip(
      render(
        <ChecklistApp
          view={reduceChecklist(reduceChecklist(v, { type: "answer", answer: "yes" }), {
            type: "answer",
            answer: "no",
          })}
          url="https://m.example.com"
          namespace="ns"
          onAnswer={() => undefined}
        />,
      ).lastFrame(),
    );
    assert.match(
      frame,
      /✖ AI chat streams through the Ingress\n {4}first see Streaming \(SSE\) through the Ingress \(warn\) above/,
    );
    const login = strip(
      render(
        <ChecklistApp
          view={reduceChecklist(v, { type: "answer", answer: "no" })}
          url="https://m.example.com"
          namespace="ns"
          onAnswer={() => undefined}
        />,
      ).lastFrame(),
    );
    assert.doesNotMatch(login, /AUTH_URL must be/, "AUTH_URL passed: not blamed");
  });

  it("without a terminal that reads keys, nothing manual is asked and it ends with the automated checks", () => {
    const v = withResults(false);
    assert.equal(checklistDone(v), true);
    assert.deepEqual(manualAnswers(v), {});
  });

  it("keys: y yes, n no, s or Enter not checked (never a yes nobody gave), anything else nothing", () => {
    assert.deepEqual(
      ["y", "n", "s", "x"].map((k) => answerForKey(k, false)),
      ["yes", "no", "skip", undefined],
    );
    assert.equal(answerForKey("", true), "skip");
  });
});

describe("checklist screen", () => {
  afterEach(cleanup);

  it("a row spins while its check runs, then shows its mark and message, and a hint under anything but a pass", () => {
    assert.match(strip(render(<CheckRow title="Web" />).lastFrame()), /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Web$/);
    assert.equal(
      strip(render(<CheckRow title="Web" outcome={outcome("web", "pass", "2 of 2 ready", "not shown")} />).lastFrame()),
      "✔ Web: 2 of 2 ready",
    );
    const warn = strip(
      render(<CheckRow title="Web" outcome={outcome("web", "warn", "slow", "look here")} />).lastFrame(),
    );
    assert.equal(warn, "‼ Web: slow\n    look here");
    const fail = strip(
      render(
        <CheckRow
          title="Redis answers"
          outcome={outcome("redis-ping", "fail", "PING did not get PONG", "first\nsecond")}
        />,
      ).lastFrame(),
    );
    assert.equal(fail, "✖ Redis answers: PING did not get PONG\n    first\n    second");
  });

  it("folds a group that passed whole, keeps a failing one open, and asks the first manual item", () => {
    const frame = strip(
      render(
        <ChecklistApp
          view={withResults(true)}
          url="https://m.example.com"
          namespace="mathison-system"
          onAnswer={() => undefined}
        />,
      ).lastFrame(),
    );
    assert.match(frame, /✔ Workloads: 1 of 1 passed/);
    assert.match(
      frame,
      /Backing services\n✖ Redis answers: PING did not get PONG\n {4}kubectl exec redis-0 -- redis-cli ping/,
    );
    assert.match(
      frame,
      /\? Login works through the Ingress URL\n {4}open https:\/\/m\.example\.com in a browser and sign in\n {4}Did it work\? y yes · n no · s or Enter: not checked/,
    );
  });

  it("a manual no shows its troubleshooting", () => {
    let v = withResults(true);
    v = reduceChecklist(reduceChecklist(v, { type: "answer", answer: "no" }), { type: "answer", answer: "yes" });
    const frame = strip(
      render(
        <ChecklistApp view={v} url="https://m.example.com" namespace="ns1" onAnswer={() => undefined} />,
      ).lastFrame(),
    );
    assert.match(
      frame,
      /✖ Login works through the Ingress URL\n {4}a sign-in that returns to another address: AUTH_URL must be https:\/\/m\.example\.com/,
    );
    assert.match(frame, /✔ AI chat streams through the Ingress\n\? The worker can deploy an app via chat/);
  });
});

describe("verification options and verdict", () => {
  const args = (strings: Record<string, string>) => ({ command: "verify" as const, strings, booleans: {} });

  it("--resolve DOMAIN:ADDRESS or DOMAIN:PORT:ADDRESS, IPv4 or IPv6; anything else names the flag and what is allowed", () => {
    const v4 = networkOptions(args({ resolve: "Mathison.Example.com:10.0.0.7" }));
    assert.ok(typeof v4 !== "string");
    assert.equal(v4.resolve.get("mathison.example.com"), "10.0.0.7");
    const v6 = networkOptions(args({ resolve: "m.example.com:2001:db8::1" }));
    assert.ok(typeof v6 !== "string" && v6.resolve.get("m.example.com") === "2001:db8::1");
    const port = networkOptions(args({ resolve: "m.example.com:30443:10.0.0.7" }));
    assert.ok(typeof port !== "string" && port.resolve.get("m.example.com") === "10.0.0.7");
    assert.ok(typeof port !== "string" && port.ports?.get("m.example.com") === 30443);
    const v6port = networkOptions(args({ resolve: "m.example.com:8443:::1" }));
    assert.ok(
      typeof v6port !== "string" &&
        v6port.resolve.get("m.example.com") === "::1" &&
        v6port.ports?.get("m.example.com") === 8443,
    );
    for (const bad of [
      "m.example.com",
      "m.example.com:70000:10.0.0.7",
      ":10.0.0.7",
      "m.example.com:not-an-ip",
      "m.example.com:443:nope",
    ]) {
      assert.match(
        networkOptions(args({ resolve: bad })) as string,
        /^--resolve: ".*" is not allowed: DOMAIN:ADDRESS/,
        bad,
      );
    }
  });

  it("--ca-file must be a readable PEM file", () => {
    assert.match(
      networkOptions(args({ "ca-file": "/nonexistent.pem" })) as string,
      /^--ca-file: "\/nonexistent.pem" is not allowed: ENOENT/,
    );
    assert.match(networkOptions(args({ "ca-file": "/etc/hostname" })) as string, /no PEM certificate in it/);
  });

  it("the verdict line counts passes, warnings, skips and the manual answers", () => {
    const outcomes = [outcome("web", "pass", ""), outcome("redis-ping", "warn", "")];
    assert.equal(
      verificationLine({ outcomes, verification: { time: "", ok: true, failed: [], warned: ["redis-ping"] } }),
      "verification passed: 1 passed, 1 warning",
    );
    assert.equal(
      verificationLine({
        outcomes,
        verification: {
          time: "",
          ok: false,
          failed: ["login"],
          warned: [],
          manual: { login: "no", "chat-streams": "yes" },
        },
      }),
      "verification failed (login): 1 passed, 1 warning, manual: 1 yes, 1 no, 0 skipped",
    );
  });
});

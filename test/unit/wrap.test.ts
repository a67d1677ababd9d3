import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EngineEvent } from "../../src/engine/events.js";
import { COMMANDS } from "../../src/cli/args.js";
import { helpText } from "../../src/cli/help.js";
import { PlainReporter } from "../../src/ui/plain-reporter.js";
import { wrapLine } from "../../src/ui/wrap.js";

const WIDTH = 80;
const NS = "mathison-system-with-a-long-namespace-name";

/** Every kind of line the plain reporter writes, each longer than a terminal of 80 columns. */
const EVENTS: EngineEvent[] = [
  {
    event: "check",
    phase: "preflight",
    id: "tls",
    group: "Ingress and TLS",
    title: "TLS",
    status: "warn",
    message: `TLS Secret mathison-tls does not exist in ${NS} yet: HTTPS fails until it does`,
    hint: `kubectl -n ${NS} create secret tls mathison-tls --cert=FILE --key=FILE`,
  },
  {
    event: "stall",
    stage: "backing",
    object: "StatefulSet/postgres",
    reason: "FailedScheduling",
    message:
      "pod postgres-0: 0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
    hint: "no node fits the pod: kubectl describe nodes shows free capacity; lower its requests, add nodes, or fix the taints and selectors it names",
    fatal: false,
  },
  {
    event: "failed",
    stage: "migrate",
    object: "Job/mathison-migrate-5605be10dc",
    reason: "CrashLoopBackOff",
    message: "pod mathison-migrate-5605be10dc-x7kq2, container migrate: restarted 3 times (last exit: Error, code 1)",
    hint: `kubectl -n ${NS} logs job/mathison-migrate-5605be10dc --previous shows the whole log`,
    logs: ["Error: P3009: migrate found failed migrations in the target database, new migrations will not be applied."],
  },
  {
    event: "done",
    ok: false,
    outcome: "wait-failed",
    elapsedMs: 9000,
    applied: 14,
    total: 23,
    message: "x",
    resume:
      "14 of 23 objects applied (stages 1-3 complete, stopped in stage 4: the migration Job). Fix the cause above, then re-run the same command to resume: what is applied stays applied.",
  },
  {
    event: "done",
    ok: false,
    outcome: "verify-failed",
    elapsedMs: 9000,
    applied: 23,
    total: 23,
    message: `Mathison is installed in namespace ${NS}, but verification failed (ingress-address, tls-certificate): it does not work end to end yet`,
    next: [
      "install an ingress controller (e.g. ingress-nginx) that serves class nginx",
      `mathison-install verify --namespace ${NS}`,
    ],
  },
];

function printed(events: readonly EngineEvent[]): string[] {
  const out: string[] = [];
  const reporter = new PlainReporter(
    {
      write: (s: string) => {
        out.push(s);
        return true;
      },
    } as unknown as NodeJS.WritableStream,
    { color: false, width: WIDTH },
  );
  for (const e of events) reporter.event(e);
  return out
    .join("")
    .split("\n")
    .filter((l) => l !== "");
}

const words = (text: string) => text.split(/\s+/).filter(Boolean);

describe("output at 80 columns", () => {
  it("every reporter line fits, no word is split, and a command pastes as one", () => {
    const lines = printed(EVENTS);
    // Every line fits: a command longer than a line goes on with ` \` continuations.
    for (const l of lines) assert.ok(l.length <= WIDTH, `${l.length} columns: ${l}`);
    const unwrapped = lines.join(" ").replace(/ \\ /g, " ");
    // The words printed are the words of the unwrapped lines, in order: nothing split.
    const reference: string[] = [];
    const full = new PlainReporter(
      {
        write: (s: string) => {
          reference.push(s);
          return true;
        },
      } as unknown as NodeJS.WritableStream,
      { color: false },
    );
    for (const e of EVENTS) full.event(e);
    assert.deepEqual(words(unwrapped), words(reference.join(" ")));
    const pasted = lines.join("\n").replace(/ \\\n\s*/g, " ");
    assert.ok(
      pasted.includes(`kubectl -n ${NS} create secret tls mathison-tls --cert=FILE --key=FILE`),
      "the command pastes whole",
    );
  });

  it("a command longer than a line is split only at spaces, with ` \\` continuations that paste as one command", () => {
    const command =
      "kubectl -n cc delete pvc/data-postgres-0 pvc/data-redis-0 secret/mathison-secrets && kubectl delete namespace cc";
    for (const width of [80, 60, 40]) {
      const lines = wrapLine(`  hint: to delete them for good: ${command}`, width);
      for (const l of lines) assert.ok(l.length <= width, `${width}: ${l.length} columns: ${l}`);
      // What a shell reads: a backslash before the newline joins the lines.
      const pasted = lines.join("\n").replace(/ \\\n\s*/g, " ");
      assert.ok(pasted.includes(command), `${width}: pastes as one command:\n${lines.join("\n")}`);
      const commandLines = lines.filter((l) => /kubectl|secret|namespace/.test(l));
      for (const l of commandLines.slice(0, -1)) assert.ok(l.endsWith(" \\"), `${width}: continued: ${l}`);
    }
  });

  it("a command ends where the prose after it starts: no ` \\` inside a sentence", () => {
    const line =
      "  ✖ the switch of Redis stopped: interrupted; nothing switched, web is stopped: run the same command again once the worker is done (a longer --timeout waits longer), or mathison-install install --namespace w without --redis-url to start web again";
    const lines = wrapLine(line, WIDTH);
    for (const l of lines) assert.ok(l.length <= WIDTH, `${l.length} columns: ${l}`);
    assert.ok(!lines.some((l) => l.endsWith(" \\")), lines.join("\n"));
    assert.deepEqual(words(lines.join(" ")), words(line));
    const status = wrapLine(
      "  unless a run still holds the lock, mathison-install install --namespace mathison with --redis-url rediss://redis.example.com:6380/0 and its password finishes it",
      WIDTH,
    );
    assert.ok(
      status.some((l) => l.includes("mathison-install install --namespace mathison")),
      `the command on one line: ${status.join("\n")}`,
    );
    assert.ok(!status.some((l) => l.endsWith(" \\")), status.join("\n"));
  });

  it("continuation lines hang under the text after the marker", () => {
    const lines = wrapLine(`  ✖ ${"word ".repeat(30).trim()}`, WIDTH);
    assert.ok(lines.length > 1);
    for (const l of lines.slice(1)) assert.match(l, /^ {4}\S/);
    assert.deepEqual(
      wrapLine(`  1. ${"step ".repeat(20).trim()}`, 40)
        .slice(1)
        .map((l) => l.slice(0, 6)),
      Array(2).fill("     s"),
    );
  });

  it("--help and every command's own --help fit 80 columns", () => {
    for (const command of [undefined, ...COMMANDS]) {
      for (const l of helpText("0.1.0", command).split("\n"))
        assert.ok(l.length <= WIDTH, `${command ?? "--help"}: ${l.length} columns: ${l}`);
    }
  });

  it("a command's own --help lists its flags, not the others'", () => {
    const verify = helpText("0.1.0", "verify");
    assert.match(verify, /^mathison-install verify \[--namespace N\]: the verification checklist/);
    assert.match(verify, /--resolve DOMAIN:\[PORT:\]ADDRESS/);
    assert.doesNotMatch(verify, /--replace-secret|--domain/);
    assert.match(helpText("0.1.0", "install"), /--domain VALUE\s+host name of the web UI.*required for install\]/s);
    assert.doesNotMatch(helpText("0.1.0", "install"), /--domain VALUE[^\n]*default mathison\.example\.com/);
  });

  it("each command's help speaks of that command only", () => {
    const other = (command: (typeof COMMANDS)[number]) =>
      COMMANDS.filter((c) => c !== command && c !== "secrets" && c !== "support-bundle");
    for (const command of COMMANDS) {
      // The flags' words: between "Flags:" and "Settings:".
      const text = helpText("0.1.0", command).split("\nSettings:")[0]!.split("\nFlags:")[1]!.replace(/\s+/g, " ");
      // A flag's words never address another command ("render: …; backup: …").
      for (const name of other(command))
        assert.doesNotMatch(text, new RegExp(`\\b${name}: `), `${command} speaks of ${name}`);
    }
    assert.doesNotMatch(helpText("0.1.0", "backup"), /--backup-dir/, "backup takes no --backup-dir");
    assert.match(helpText("0.1.0", "status"), /--output plain\|json\s+plain lines on stdout/);
    assert.match(helpText("0.1.0", "restore"), /restore FILE\.dump .*FILE\.dump\.json\s+beside it/s);
  });
});

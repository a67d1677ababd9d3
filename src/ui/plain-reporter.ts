import { backupLine } from "./backup-line.js";
import type { EngineEvent, Progress, Reporter, RunOutcome } from "../engine/events.js";
import { checkLines } from "../checks/types.js";
import { planLines } from "./plan-lines.js";
import { wrapLine } from "./wrap.js";

export interface PlainReporterOptions {
  /** ANSI colour only on a terminal without NO_COLOR. */
  readonly color: boolean;
  /** Lines wrap at words to this width (a terminal's); unset: whole lines, for logs and pipes. */
  readonly width?: number;
}

const SGR = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;

/** One line per state change, for logs and CI: no spinners, no cursor movement. */
export class PlainReporter implements Reporter {
  private lastProgress = "";

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly options: PlainReporterOptions,
  ) {}

  private paint(style: keyof typeof SGR, text: string): string {
    return this.options.color ? `\x1b[${SGR[style]}m${text}\x1b[0m` : text;
  }

  private line(text: string): void {
    for (const l of wrapLine(text, this.options.width ?? Number.POSITIVE_INFINITY)) this.out.write(`${l}\n`);
  }

  event(e: EngineEvent): void {
    for (const l of formatPlain(e, (s, t) => this.paint(s, t))) this.line(l);
  }

  progress(p: Progress): void {
    if (p.waitingOn.length === 0) return;
    const text = `  waiting on ${p.waitingOn.length} ${p.waitingOn.length === 1 ? "change" : "changes"} [${p.done}/${p.total} done]: ${p.waitingOn.join(", ")}`;
    if (text === this.lastProgress) return;
    this.lastProgress = text;
    this.line(this.paint("dim", text));
  }
}

const DRY_RUN_ACTIONS: ReadonlySet<string> = new Set(["create", "change", "none", "replace", "delete"]);

type Paint = (style: keyof typeof SGR, text: string) => string;

/** How a run ended, in words (the outcome's id is for programs). */
export const OUTCOME_WORDS: Readonly<Record<RunOutcome, string>> = {
  ok: "done",
  "verify-failed": "installed, but verification failed",
  cancelled: "cancelled at the confirmation",
  "apply-failed": "a change was not applied (see above why)",
  "wait-failed": "a resource failed",
  timeout: "a stage did not become ready in time",
  interrupted: "interrupted",
  "cluster-access": "lost the cluster",
  locked: "another run holds the lock",
  refused: "the input was refused",
  "preflight-failed": "a preflight check failed",
  "backup-failed": "the backup before the migration failed",
  "internal-error": "an internal error (a bug: please report it)",
  unhealthy: "not healthy",
  "not-installed": "no install in the namespace",
};

function nextSteps(next: readonly string[] | undefined): string[] {
  return next && next.length > 0 ? ["  what to do next:", ...next.map((n, i) => `  ${i + 1}. ${n}`)] : [];
}

export function formatPlain(e: EngineEvent, paint: Paint = (_s, t) => t): string[] {
  switch (e.event) {
    case "plan":
      return [
        `${e.dryRun ? "Dry run against" : e.operation === "uninstall" ? "Removing from" : e.installed ? "Upgrading in" : "Installing into"} context ${e.context} (${e.server}), namespace ${e.namespace}: ${e.stages.reduce((n, s) => n + s.objects.length, 0)} objects in ${e.stages.length} stages`,
        ...planLines(e),
      ];
    case "stage":
      if (e.status === "running") return [paint("bold", `[${e.index + 1}/${e.total}] ${e.title}`)];
      if (e.status === "done") return [paint("green", `  ✔ ${e.title} (${(e.elapsedMs / 1000).toFixed(1)} s)`)];
      return [paint("red", `  ✖ ${e.title}`)];
    case "apply":
      // A dry run's per-object actions are the plan printed above: JSON keeps them, plain says it once.
      if (DRY_RUN_ACTIONS.has(e.action)) return [];
      return [`  ${e.object} ${e.action}${e.fields ? `: ${e.fields.join(", ")}` : ""}`];
    case "status":
      return [
        `  ${e.object}: ${e.state === "ready" ? paint("green", e.message) : e.state === "failed" ? paint("red", e.message) : e.message}`,
      ];
    case "stall":
      return [paint("yellow", `  ‼ ${e.object}: ${e.reason}: ${e.message}`), `    hint: ${e.hint}`];
    case "log":
      return [paint("dim", `  │ ${e.pod}: ${e.line}`)];
    case "cleanup":
      return [`  ${e.object} ${e.message}`];
    case "report":
      // `status` prints its own lines (ui/status-lines.ts); the event is for programs.
      return [];
    case "check": {
      const style =
        e.status === "pass" ? "green" : e.status === "warn" ? "yellow" : e.status === "fail" ? "red" : "dim";
      const [head, ...hint] = checkLines(e);
      return [paint(style, head!), ...hint];
    }
    case "verified":
      return [paint(e.ok ? "green" : "red", e.message)];
    case "support-bundle":
      return [e.path ? e.message : paint("yellow", e.message)];
    case "step":
      return [
        e.status === "running"
          ? paint("bold", `${e.step}: ${e.message}`)
          : paint(e.status === "done" ? "green" : "red", `  ${e.status === "done" ? "✔" : "✖"} ${e.message}`),
      ];
    case "backup":
      return [paint(e.status === "failed" ? "red" : e.status === "done" ? "green" : "dim", backupLine(e))];
    case "lock":
      return [paint("yellow", `‼ ${e.message}`)];
    case "failed":
      return [
        paint("red", `✖ ${e.object ? `${e.object}: ` : ""}${e.reason}: ${e.message}`),
        ...(e.logs.length > 0 ? ["  last log lines:", ...e.logs.map((l) => `  │ ${l}`)] : []),
        ...(e.hint ? [`  hint: ${e.hint}`] : []),
      ];
    case "done":
      return e.ok
        ? [
            paint("green", `✔ ${e.message} (${(e.elapsedMs / 1000).toFixed(1)} s)`),
            ...(e.next ?? []).map((n) => `  ${n}`),
          ]
        : [
            paint("red", `✖ ${e.outcome === "verify-failed" ? e.message : `stopped: ${OUTCOME_WORDS[e.outcome]}`}`),
            ...(e.resume ? [`  ${e.resume}`] : []),
            ...nextSteps(e.next),
          ];
  }
}

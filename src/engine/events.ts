import type { InstalledSummary } from "../record/install-record.js";
import type { StageId } from "../render/stages.js";

/**
 * What the engine tells its reporters. The JSON Lines output writes these objects as they are
 * (plus `ts`), so field names are a public, documented contract: add fields, never rename.
 */
export type ApplyAction =
  | "created"
  | "configured"
  | "unchanged"
  | "deleted"
  // --dry-run: what a real run would do
  | "create"
  | "change"
  | "none"
  | "replace"
  | "delete";

/** One object of the plan: what the run will do to it, and why where the action alone does not say. */
export interface PlannedChange {
  readonly stage: StageId;
  readonly object: string;
  readonly action: "create" | "change" | "unchanged" | "replace" | "delete";
  readonly fields: readonly string[];
  readonly conflicts: readonly { readonly field: string; readonly manager: string }[];
  readonly note?: string;
}

export type EngineEvent =
  | {
      readonly event: "plan";
      readonly context: string;
      readonly server: string;
      readonly namespace: string;
      readonly dryRun: boolean;
      readonly stages: readonly { readonly id: StageId; readonly title: string; readonly objects: readonly string[] }[];
      /** Per object: create / change (fields) / unchanged / replace / delete. */
      readonly changes: readonly PlannedChange[];
      /** What the changes mean: rollouts, a migration, secrets, conflicts, what is kept. */
      readonly impact: readonly { readonly kind: string; readonly object?: string; readonly message: string }[];
      /** Lines about the answers: kept secrets, replacements. */
      readonly notices: readonly string[];
      readonly installed?: InstalledSummary;
      /** Absent for an install; `uninstall` when the plan deletes the install. */
      readonly operation?: "uninstall";
    }
  | {
      readonly event: "stage";
      readonly stage: StageId;
      readonly index: number;
      readonly total: number;
      readonly title: string;
      readonly status: "running" | "done" | "failed";
      readonly elapsedMs: number;
    }
  | {
      readonly event: "apply";
      readonly stage: StageId;
      readonly object: string;
      readonly action: ApplyAction;
      readonly fields?: readonly string[];
    }
  | {
      readonly event: "status";
      readonly stage: StageId;
      readonly object: string;
      readonly state: "pending" | "ready" | "failed";
      readonly message: string;
    }
  | {
      readonly event: "stall";
      readonly stage: StageId;
      readonly object: string;
      readonly reason: string;
      readonly message: string;
      readonly hint: string;
      readonly fatal: boolean;
    }
  | {
      readonly event: "log";
      readonly stage: StageId;
      readonly object: string;
      readonly pod: string;
      readonly line: string;
    }
  | { readonly event: "cleanup"; readonly stage: StageId; readonly object: string; readonly message: string }
  | {
      readonly event: "failed";
      readonly stage: StageId;
      readonly object?: string;
      readonly reason: string;
      readonly message: string;
      readonly hint: string;
      readonly logs: readonly string[];
    }
  /** The lock was taken over from a run that stopped renewing it (killed): who it was. */
  | { readonly event: "lock"; readonly status: "took-over"; readonly message: string }
  /** A step of a restore (scale down, restore, migrate, scale up): when it starts and how it ends. */
  | {
      readonly event: "step";
      readonly step: string;
      readonly status: "running" | "done" | "failed";
      readonly message: string;
    }
  /** A backup of the database: while it streams (`running`, about every second), and how it ended. */
  | {
      readonly event: "backup";
      readonly status: "running" | "done" | "failed";
      /** The dump's path (its manifest is beside it, `.json`). */
      readonly file: string;
      readonly bytes: number;
      readonly elapsedMs: number;
      readonly message: string;
    }
  /** After a failed run's `done`: where its support bundle is (`path` empty if none could be made). */
  | { readonly event: "support-bundle"; readonly path: string; readonly message: string }
  /** One check's result: before the install (`preflight`) or of what runs (`verify`). */
  | {
      readonly event: "check";
      readonly phase: "preflight" | "verify";
      readonly id: string;
      readonly group: string;
      readonly title: string;
      readonly status: "pass" | "warn" | "fail" | "skip";
      readonly message: string;
      readonly hint?: string;
    }
  /** After the verify checks: whether every one passed (and no manual check was answered no), in a line. */
  | {
      readonly event: "verified";
      readonly ok: boolean;
      readonly failed: readonly string[];
      readonly warned: readonly string[];
      readonly message: string;
    }
  /**
   * The verdict of the whole run, always its last event; `ok` agrees with the exit code. `next`:
   * what to do, in order (an install whose verification failed: what each failed check needs).
   */
  | {
      readonly event: "done";
      readonly ok: boolean;
      readonly outcome: RunOutcome;
      readonly elapsedMs: number;
      readonly applied: number;
      readonly total: number;
      readonly message: string;
      readonly resume?: string;
      readonly next?: readonly string[];
    };

export type DoneEvent = Extract<EngineEvent, { event: "done" }>;

/** How a run ended; `verify-failed`: applied and recorded, but a verification check failed (exit 10); `cancelled`: declined at the confirm (exit 11). */
export type RunOutcome =
  | "ok"
  | "verify-failed"
  | "cancelled"
  | "apply-failed"
  | "wait-failed"
  | "timeout"
  | "interrupted"
  | "cluster-access"
  | "locked"
  | "refused"
  | "preflight-failed"
  | "backup-failed";

/** kapp-style progress: `waiting on 2 changes [3/5 done]`. */
export interface Progress {
  readonly stage: StageId;
  readonly waitingOn: readonly string[];
  readonly done: number;
  readonly total: number;
}

/** The engine's only way out: one event stream plus progress, read by ink, plain and JSON reporters alike. */
export interface Reporter {
  event(e: EngineEvent): void;
  progress(p: Progress): void;
}

import { INSTALLED_SUMMARY } from "../record/install-record.js";
import { STAGES, type StageId } from "../render/stages.js";
import {
  boolean,
  document,
  type Infer,
  integer,
  list,
  number,
  object,
  type ObjectSchema,
  oneOf,
  string,
} from "../base/schema.js";

/**
 * What the engine tells its reporters. The JSON Lines output writes these objects as they are
 * (plus `ts`), so field names are a public contract: add fields, never rename. Each event is
 * described once, as data (`EVENT_SCHEMAS`): its type, the published docs/events.schema.json and
 * the e2e tests' check of every event read all come from it.
 */
export const APPLY_ACTIONS = [
  "created",
  "configured",
  "unchanged",
  "deleted",
  // --dry-run: what a real run would do
  "create",
  "change",
  "none",
  "replace",
  "delete",
] as const;
export type ApplyAction = (typeof APPLY_ACTIONS)[number];

/** How a run ended; `verify-failed`: applied and recorded, but a verification check failed (exit 10); `cancelled`: declined at the confirm (exit 11). */
export const RUN_OUTCOMES = [
  "ok",
  "verify-failed",
  "cancelled",
  "apply-failed",
  "wait-failed",
  "timeout",
  "interrupted",
  "cluster-access",
  "locked",
  "refused",
  "preflight-failed",
  "backup-failed",
  // exit 1: a bug in the installer, reported as one
  "internal-error",
  // exit 7: `status` found an install not healthy (or incomplete)
  "unhealthy",
  // exit 8: the namespace holds no install
  "not-installed",
] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

const STAGE = oneOf(STAGES.map((st) => st.id) as readonly StageId[]);
const RUNNING_DONE_FAILED = oneOf(["running", "done", "failed"] as const);

const PLANNED_CHANGE = object(
  {
    stage: STAGE,
    object: string("Kind/name"),
    action: oneOf(["create", "change", "unchanged", "replace", "delete"] as const),
    fields: list(string(), "the changed paths (a Secret's keys, never values)"),
    conflicts: list(
      object({ field: string(), manager: string() }),
      "fields another field manager set to another value: this run sets them back",
    ),
    note: string("one line of why, where the action alone does not say it"),
  },
  ["note"],
);
/** One object of the plan: what the run will do to it, and why where the action alone does not say. */
export type PlannedChange = Infer<typeof PLANNED_CHANGE>;

/** The JSON Lines events, by name: each one's fields, as every command writes them. */
export const EVENT_SCHEMAS = {
  plan: object(
    {
      context: string(),
      server: string(),
      namespace: string(),
      dryRun: boolean(),
      stages: list(object({ id: STAGE, title: string(), objects: list(string("Kind/name")) })),
      changes: list(PLANNED_CHANGE, "per object: create / change (fields) / unchanged / replace / delete"),
      impact: list(
        object({ kind: string(), object: string(), message: string() }, ["object"]),
        "what the changes mean: rollouts, a migration, secrets, conflicts, what is kept",
      ),
      notices: list(string(), "lines about the answers: kept secrets, replacements, mutable tags"),
      installed: INSTALLED_SUMMARY,
      operation: oneOf(["uninstall"] as const, "absent for an install; `uninstall` when the plan deletes the install"),
    },
    ["installed", "operation"],
    "what the run will do, before it does it",
  ),
  stage: object({
    stage: STAGE,
    index: integer("0-based"),
    total: integer(),
    title: string(),
    status: RUNNING_DONE_FAILED,
    elapsedMs: number(),
  }),
  apply: object(
    {
      stage: STAGE,
      object: string(),
      action: oneOf(APPLY_ACTIONS, "a dry run says create, change, none, replace or delete"),
      fields: list(string(), "dry run: the fields that change"),
    },
    ["fields"],
  ),
  status: object({
    stage: STAGE,
    object: string(),
    state: oneOf(["pending", "ready", "failed"] as const),
    message: string(),
  }),
  stall: object({
    stage: STAGE,
    object: string(),
    reason: string(),
    message: string(),
    hint: string(),
    fatal: boolean(),
  }),
  log: object(
    { stage: STAGE, object: string("the Job"), pod: string(), line: string() },
    [],
    "the migration's output as it runs",
  ),
  cleanup: object({ stage: STAGE, object: string(), message: string() }),
  failed: object(
    {
      stage: STAGE,
      object: string(),
      reason: string(),
      message: string(),
      hint: string(),
      logs: list(string(), "the last lines of the failing container"),
    },
    ["object"],
  ),
  lock: object(
    { status: oneOf(["took-over"] as const), message: string() },
    [],
    "the lock of a run that stopped renewing it (killed) was taken over: who it was, and why",
  ),
  step: object(
    {
      step: string(
        "restore: stop, restore, redis, migrate, start; install: rotate (the database password changes), leave-gitops (--leave-gitops), extension (pgvector created in your own PostgreSQL), and a move of the data between the cluster's PostgreSQL and your own: postgres (the cluster's starts, moving back), stop, dump (a failed dump), restore, move (found already moved, or refused); redis (a switch of Redis: web stopped, its queue drained); parked (--delete-parked-postgres)",
      ),
      status: RUNNING_DONE_FAILED,
      message: string(),
    },
    [],
    "a step of a restore, or of an install beyond its stages: when it starts and how it ends",
  ),
  backup: object(
    {
      status: oneOf(["running", "done", "failed"] as const, "running about every second, then done or failed"),
      file: string("the dump's path (its manifest is beside it, .json)"),
      bytes: integer(),
      elapsedMs: number(),
      message: string(),
    },
    [],
    "a backup of the database: while it streams, and how it ended",
  ),
  "support-bundle": object(
    { path: string("empty if none could be made"), message: string() },
    [],
    "after a failed run, just before its done: where its support bundle is",
  ),
  check: object(
    {
      phase: oneOf(["preflight", "verify"] as const),
      id: string(),
      group: string(),
      title: string(),
      status: oneOf(["pass", "warn", "fail", "skip"] as const),
      message: string(),
      hint: string(),
    },
    ["hint"],
    "one check's result: before the install (preflight) or of what runs (verify)",
  ),
  verified: object(
    {
      ok: boolean(),
      failed: list(string(), "check ids, and manual ones answered no"),
      warned: list(string()),
      message: string(),
    },
    [],
    "after the verify checks: whether every one passed, just before the run's done",
  ),
  report: object(
    {
      install: document(
        "what `status` reads of one install: the fields docs/commands.md lists under status (namespace, context, state, healthy, workloads, …)",
      ),
    },
    [],
    "`status`: one install at a glance, one event per install (`--all-namespaces`: each install the credentials can see)",
  ),
  done: object(
    {
      ok: boolean("agrees with the exit code"),
      outcome: oneOf(RUN_OUTCOMES, "agrees with the exit code, as the exit code table shows"),
      elapsedMs: number(),
      applied: integer(),
      total: integer(),
      message: string(),
      resume: string("the command that finishes what was left"),
      next: list(string(), "what to do, in order (a failed verification: what each failed check needs)"),
    },
    ["resume", "next"],
    "the verdict of the whole run, always its last event",
  ),
} as const;

type EventName = keyof typeof EVENT_SCHEMAS;
type EventOf<K extends EventName> = { readonly event: K } & Infer<(typeof EVENT_SCHEMAS)[K]>;

export type EngineEvent = { [K in EventName]: EventOf<K> }[EventName];

export type DoneEvent = Extract<EngineEvent, { event: "done" }>;

/** A run's `done` when it applied no objects of a plan (preflight, verify, restore, a stop): `ok` is the outcome's. */
export function doneOf(outcome: RunOutcome, message: string, startedAt: number): DoneEvent {
  return {
    event: "done",
    ok: outcome === "ok",
    outcome,
    elapsedMs: Date.now() - startedAt,
    applied: 0,
    total: 0,
    message,
  };
}

const PROGRESS = object(
  {
    stage: STAGE,
    waitingOn: list(string(), "the objects not ready yet"),
    done: integer(),
    total: integer(),
  },
  [],
  "how far a stage's wait is, written when it changes",
);

/** kapp-style progress: `waiting on 2 changes [3/5 done]`. */
export type Progress = Infer<typeof PROGRESS>;

/** Every line of `--output json`: an event's fields, its name, and `ts`. */
export function eventSchemas(): Readonly<Record<string, ObjectSchema>> {
  const all: Record<string, ObjectSchema> = { ...EVENT_SCHEMAS, progress: PROGRESS };
  return Object.fromEntries(
    Object.entries(all).map(([name, sch]) => [
      name,
      {
        ...sch,
        properties: { ts: string("ISO 8601"), event: oneOf([name]), ...sch.properties },
      },
    ]),
  );
}

/** The engine's only way out: one event stream plus progress, read by ink, plain and JSON reporters alike. */
export interface Reporter {
  event(e: EngineEvent): void;
  progress(p: Progress): void;
}

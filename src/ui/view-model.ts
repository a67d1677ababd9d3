import type { ApplyAction, EngineEvent, Progress, RunOutcome } from "../engine/events.js";
import type { StageId } from "../render/stages.js";
import { backupLine } from "./backup-line.js";

/** What the progress screen shows, derived from engine events only. Pure: tested without Ink. */
export interface ResourceView {
  readonly object: string;
  readonly action?: ApplyAction;
  readonly state?: "pending" | "ready" | "failed";
  readonly message?: string;
  /** The current reason it is stuck, while it is. */
  readonly stall?: { readonly reason: string; readonly message: string; readonly hint: string };
}

export type StageStatus = "pending" | "running" | "done" | "failed";

export interface StageView {
  readonly id: StageId;
  readonly title: string;
  readonly status: StageStatus;
  readonly startedAt?: number;
  readonly elapsedMs?: number;
  readonly resources: readonly ResourceView[];
  readonly waiting?: { readonly on: readonly string[]; readonly done: number; readonly total: number };
}

export interface ViewModel {
  readonly context?: string;
  /** The plan was made against an existing install: the screen says upgrade, not install. */
  readonly upgrade?: boolean;
  readonly namespace?: string;
  readonly dryRun: boolean;
  readonly stages: readonly StageView[];
  /** The migration's output: the last lines only, so the screen keeps its size. */
  readonly logs: readonly { readonly pod: string; readonly line: string }[];
  readonly failure?: {
    readonly stage: StageId;
    readonly object?: string;
    readonly reason: string;
    readonly message: string;
    readonly hint: string;
    readonly logs: readonly string[];
  };
  readonly done?: {
    readonly ok: boolean;
    readonly outcome: RunOutcome;
    readonly message: string;
    readonly resume?: string;
    readonly next?: readonly string[];
    readonly elapsedMs: number;
  };
  readonly interrupting: boolean;
  /** A line the run wants seen above the panes (a lock taken over from a killed run). */
  readonly notice?: string;
  /** The backup before the migration: its progress, then where it is. */
  readonly backup?: string;
  /** The latest step beyond the stages (a move's stop and restore, a rotation): what it does, then how it ended. */
  readonly step?: string;
  /** The failed run's support bundle line. */
  readonly bundle?: string;
}

export const MAX_LOG_LINES = 8;

const STEP_MARK = { running: "…", done: "✔", failed: "✖" } as const;

export const initialView: ViewModel = { dryRun: false, stages: [], logs: [], interrupting: false };

export type ViewAction = EngineEvent | ({ readonly event: "progress" } & Progress) | { readonly event: "interrupting" };

function updateStage(view: ViewModel, id: StageId, change: (s: StageView) => StageView): ViewModel {
  return { ...view, stages: view.stages.map((s) => (s.id === id ? change(s) : s)) };
}

function updateResource(stage: StageView, object: string, change: (r: ResourceView) => ResourceView): StageView {
  const exists = stage.resources.some((r) => r.object === object);
  const resources = exists
    ? stage.resources.map((r) => (r.object === object ? change(r) : r))
    : [...stage.resources, change({ object })];
  return { ...stage, resources };
}

export function reduce(view: ViewModel, a: ViewAction, now: number = Date.now()): ViewModel {
  switch (a.event) {
    case "plan":
      return planned(view, a);
    case "stage":
      return updateStage(view, a.stage, (s) => ({
        ...s,
        status: a.status,
        ...(a.status === "running"
          ? { startedAt: now }
          : { elapsedMs: a.elapsedMs || (s.startedAt !== undefined ? now - s.startedAt : 0) }),
        ...(a.status !== "running" ? { waiting: undefined } : {}),
      }));
    case "apply":
      return updateStage(view, a.stage, (s) => updateResource(s, a.object, (r) => ({ ...r, action: a.action })));
    case "status":
      return updateStage(view, a.stage, (s) =>
        updateResource(s, a.object, (r) => {
          const { stall: _stall, ...rest } = r;
          return { ...(a.state === "ready" ? rest : r), state: a.state, message: a.message };
        }),
      );
    case "stall":
      return updateStage(view, a.stage, (s) =>
        updateResource(s, a.object, (r) => ({ ...r, stall: { reason: a.reason, message: a.message, hint: a.hint } })),
      );
    case "progress":
      return updateStage(view, a.stage, (s) => ({ ...s, waiting: { on: a.waitingOn, done: a.done, total: a.total } }));
    case "log":
      return { ...view, logs: [...view.logs, { pod: a.pod, line: a.line }].slice(-MAX_LOG_LINES) };
    case "step":
      return { ...view, step: `${STEP_MARK[a.status]} ${a.step}: ${a.message}` };
    case "cleanup":
    case "report":
    case "check":
    case "verified":
      return view;
    case "support-bundle":
      return { ...view, bundle: a.message };
    case "backup":
      return { ...view, backup: backupLine(a) };
    case "lock":
      return { ...view, notice: a.message };
    case "failed":
      return failed(view, a, now);
    case "done": {
      const { ok, outcome, message, elapsedMs } = a;
      const done = { ok, outcome, message, elapsedMs, ...(a.resume ? { resume: a.resume } : {}) };
      return { ...view, done: { ...done, ...(a.next ? { next: a.next } : {}) } };
    }
    case "interrupting":
      return { ...view, interrupting: true };
  }
}

/** The plan's stages, every object pending. */
function planned(view: ViewModel, a: Extract<ViewAction, { event: "plan" }>): ViewModel {
  return {
    ...view,
    context: a.context,
    namespace: a.namespace,
    dryRun: a.dryRun,
    upgrade: a.installed !== undefined,
    stages: a.stages.map((s) => ({
      id: s.id,
      title: s.title,
      status: "pending",
      resources: s.objects.map((object) => ({ object })),
    })),
  };
}

/** A failure ends its stage, and the failing object's row says it failed, not its last progress ("1 running"). */
function failed(view: ViewModel, a: Extract<ViewAction, { event: "failed" }>, now: number): ViewModel {
  const failure = {
    stage: a.stage,
    ...(a.object ? { object: a.object } : {}),
    reason: a.reason,
    message: a.message,
    hint: a.hint,
    logs: a.logs,
  };
  const marked = updateStage(view, a.stage, (s) => {
    const ended: StageView = {
      ...s,
      status: "failed",
      waiting: undefined,
      elapsedMs: s.startedAt !== undefined ? now - s.startedAt : 0,
    };
    return a.object ? updateResource(ended, a.object, (r) => ({ ...r, state: "failed", message: a.reason })) : ended;
  });
  return { ...marked, failure };
}

/** `web 1/2 ready`-style short name: the object's name without the kind. */
export function shortName(object: string): string {
  return object.slice(object.indexOf("/") + 1);
}

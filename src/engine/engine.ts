import type { Kube } from "../kube/types.js";
import type { Stage } from "../render/render.js";
import type { StageId } from "../render/stages.js";
import { applyChange } from "./apply.js";
import type { Reporter, RunOutcome } from "./events.js";
import { applyFailure, resumeAdvice, StageFailure } from "./failure.js";
import { removeOldMigrationJobs } from "./migration.js";
import type { InstallPlan, ObjectChange } from "./plan.js";
import { hasReadiness } from "./readiness.js";
import { NamespaceView } from "./view.js";
import { waitForStage } from "./wait.js";
import { type KubeObject, objectRef } from "../facts/objects.js";

export { STALL_GRACE_MS } from "./wait.js";

export const DEFAULT_TIMEOUTS_MS: Readonly<Record<StageId, number>> = {
  base: 60_000,
  config: 60_000,
  backing: 5 * 60_000,
  migrate: 10 * 60_000,
  app: 10 * 60_000,
  edge: 2 * 60_000,
};

export interface EngineOptions {
  readonly timeoutsMs?: Partial<Record<StageId, number>>;
  /** Aborting stops after the requests in flight; the result says what was applied. */
  readonly signal?: AbortSignal;
  /** Log lines of a failing container to report. */
  readonly logLines?: number;
  /** The plan was made against an existing install: the end says upgraded. */
  readonly upgrade?: boolean;
  /** When the whole run started (before its preflight): the elapsed time it reports covers it all. */
  readonly startedAt?: number;
}

export interface RunResult {
  readonly outcome: RunOutcome;
  readonly applied: readonly string[];
}

/** What the run has done so far, shared by its stages. */
class RunState {
  readonly applied: string[] = [];
  readonly generation = new Map<string, number>();
  /** Jobs this run created: their output is news. */
  readonly freshJobs = new Set<string>();
  view: NamespaceView | undefined;
  viewReady: Promise<void> = Promise.resolve();
  /** Work off the critical path (log draining, old Job clean-up): a successful run's end waits for it, no stage does. */
  readonly background: Promise<unknown>[] = [];
  /**
   * Set as the run writes its `done`: a stopped run does not wait for its background work (an
   * interrupt ends within 2 s), which goes on silently — `done` stays the stream's last event.
   */
  ended = false;

  /** The stages' reporter: what they (and their background work) say, until the run's end. */
  untilEnded(reporter: Reporter): Reporter {
    return {
      event: (e) => {
        if (!this.ended) reporter.event(e);
      },
      progress: (p) => {
        if (!this.ended) reporter.progress(p);
      },
    };
  }

  constructor(
    readonly kube: Kube,
    readonly namespace: string,
  ) {}

  /** Watches open as soon as the namespace exists (the pipeline creates it before taking the lock), not when the first wait begins. */
  openView(): void {
    if (this.view) return;
    this.view = new NamespaceView(this.kube, this.namespace);
    this.viewReady = this.view.start();
    this.viewReady.catch(() => undefined);
  }
}

/**
 * Applies a computed plan stage by stage, waits on each stage's workloads through watches,
 * explains stalls while waiting and stops at the first failure, saying what was applied and
 * whether a re-run can resume. Prunes what the previous run applied and this one no longer renders
 * once everything else is ready.
 */
export async function applyPlan(
  plan: InstallPlan,
  kube: Kube,
  reporter: Reporter,
  options: EngineOptions = {},
): Promise<RunResult> {
  const started = Date.now();
  const stages = plan.rendered.stages;
  const total = stages.reduce((n, s) => n + s.objects.length, 0);
  const run = new RunState(kube, plan.namespace);
  const stageReporter = run.untilEnded(reporter);
  let current: Stage = stages[0]!;
  // The namespace holds the run's lock, so it exists: the watches start while the first stages apply.
  run.openView();
  try {
    for (const stage of stages) {
      current = stage;
      if (options.signal?.aborted)
        throw new StageFailure("interrupted", "Interrupted", "interrupted before this stage", "");
      await runStage(
        stage,
        plan.changes.filter((c) => c.stage === stage.id),
        run,
        stageReporter,
        options,
        stages.length,
      );
    }
    await Promise.allSettled(run.background);
    run.ended = true;
    reporter.event({
      event: "done",
      ok: true,
      outcome: "ok",
      elapsedMs: Date.now() - (options.startedAt ?? started),
      applied: run.applied.length,
      total,
      message: `Mathison is ${!options.upgrade ? "installed" : plan.changes.every((c) => c.action === "unchanged") ? "up to date" : "upgraded"} in namespace ${plan.namespace}`,
    });
    return { outcome: "ok", applied: run.applied };
  } catch (err) {
    const f = applyFailure(err, undefined);
    reporter.event({
      event: "failed",
      stage: current.id,
      ...(f.object ? { object: f.object } : {}),
      reason: f.reason,
      message: f.message,
      hint: f.hint,
      logs: f.logs,
    });
    reporter.event({
      event: "stage",
      stage: current.id,
      index: current.index,
      total: stages.length,
      title: current.title,
      status: "failed",
      elapsedMs: 0,
    });
    const done = current.index;
    const summary = `${run.applied.length} of ${total} objects applied (${done > 0 ? `stages 1-${done} complete, ` : ""}stopped in stage ${done + 1}: ${current.title})`;
    run.ended = true;
    reporter.event({
      event: "done",
      ok: false,
      outcome: f.outcome,
      elapsedMs: Date.now() - (options.startedAt ?? started),
      applied: run.applied.length,
      total,
      message: f.message,
      resume: resumeAdvice(f, summary),
    });
    return { outcome: f.outcome, applied: run.applied };
  } finally {
    run.view?.stop();
  }
}

async function runStage(
  stage: Stage,
  changes: readonly ObjectChange[],
  run: RunState,
  reporter: Reporter,
  options: EngineOptions,
  stageCount: number,
): Promise<void> {
  const stageStart = Date.now();
  const event = (status: "running" | "done", elapsedMs: number) =>
    reporter.event({
      event: "stage",
      stage: stage.id,
      index: stage.index,
      total: stageCount,
      title: stage.title,
      status,
      elapsedMs,
    });
  event("running", 0);
  // The namespace first: everything else of the stage lives in it.
  const writes = changes.filter((c) => c.action !== "delete");
  const namespaces = writes.filter((c) => c.desired.kind === "Namespace");
  await applyBatch(namespaces, stage, run, reporter, options);
  await applyBatch(
    writes.filter((c) => c.desired.kind !== "Namespace"),
    stage,
    run,
    reporter,
    options,
  );
  if (options.signal?.aborted)
    throw new StageFailure("interrupted", "Interrupted", "interrupted after applying this stage", "");
  run.openView();
  const workloads = stage.objects.filter((o) => hasReadiness(o.kind));
  if (workloads.length > 0) await waitForWorkloads(stage, workloads, run, reporter, options, stageStart);
  if (stage.id === "migrate") cleanUpOldJobs(stage, workloads, run, reporter);
  const deletes = changes.filter((c) => c.action === "delete");
  if (stage.index === stageCount - 1) await applyBatch(deletes, stage, run, reporter, options);
  event("done", Date.now() - stageStart);
}

/** The stage's workloads until Ready (or failed, stalled, timed out); their logs drain in the background. */
async function waitForWorkloads(
  stage: Stage,
  workloads: readonly KubeObject[],
  run: RunState,
  reporter: Reporter,
  options: EngineOptions,
  sinceMs: number,
): Promise<void> {
  await run.viewReady;
  const { logsDrained } = await waitForStage({
    kube: run.kube,
    view: run.view!,
    reporter,
    stage,
    workloads,
    appliedGeneration: run.generation,
    freshJobs: run.freshJobs,
    timeoutMs: options.timeoutsMs?.[stage.id] ?? DEFAULT_TIMEOUTS_MS[stage.id],
    sinceMs,
    signal: options.signal,
    logLines: options.logLines ?? 20,
  });
  run.background.push(logsDrained);
}

/** Old migration Jobs are history, not a condition of the next stage: deleted in the background. */
function cleanUpOldJobs(stage: Stage, current: readonly KubeObject[], run: RunState, reporter: Reporter): void {
  const cleanup = (object: string, message: string) =>
    reporter.event({ event: "cleanup", stage: stage.id, object, message });
  run.background.push(
    removeOldMigrationJobs(
      run.kube,
      run.namespace,
      current.map((w) => w.metadata.name),
      cleanup,
    ).catch((err: Error) =>
      cleanup("Job", `old migration Jobs were not deleted (the next run tries again): ${err.message}`),
    ),
  );
}

async function applyBatch(
  changes: readonly ObjectChange[],
  stage: Stage,
  run: RunState,
  reporter: Reporter,
  options: EngineOptions,
): Promise<void> {
  const results = await Promise.allSettled(
    changes.map(async (change) => {
      const { action, result } = await applyChange(run.kube, change, options.signal);
      if (action !== "deleted") run.applied.push(change.object);
      run.generation.set(change.object, result?.metadata.generation ?? 0);
      if (change.desired.kind === "Job" && action === "created") run.freshJobs.add(change.object);
      reporter.event({
        event: "apply",
        stage: stage.id,
        object: change.object,
        action,
        ...(action === "deleted" && change.note ? { fields: [change.note] } : {}),
      });
    }),
  );
  const rejected = results.findIndex((r) => r.status === "rejected");
  if (rejected >= 0)
    throw applyFailure((results[rejected] as PromiseRejectedResult).reason, objectRef(changes[rejected]!.desired));
}

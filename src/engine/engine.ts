import { ClusterAccessError, KubeApiError, type Kube, type ObjectRef } from "../kube/types.js";
import { isNamespaced, objectRef, type KubeObject } from "../render/objects.js";
import type { RenderedPlan, Stage } from "../render/render.js";
import type { StageId } from "../render/stages.js";
import { diagnose, podsOf, type Diagnosis } from "./diagnose.js";
import { changedFields } from "./diff.js";
import type { ApplyAction, Reporter, RunOutcome } from "./events.js";
import { hasReadiness, readinessOf, type Readiness } from "./readiness.js";
import { PodLogFollower } from "./log-follower.js";
import { NamespaceView } from "./view.js";

export const DEFAULT_TIMEOUTS_MS: Readonly<Record<StageId, number>> = {
  base: 60_000,
  config: 60_000,
  backing: 5 * 60_000,
  migrate: 10 * 60_000,
  app: 10 * 60_000,
  edge: 2 * 60_000,
};

/** How long a finished stage waits for the last lines of the logs it streams, and for a quiet log. */
const LOG_DRAIN_MS = 3000;
const LOG_IDLE_MS = 300;

/** How long a non-fatal condition must last before it is reported as a stall. */
export const STALL_GRACE_MS = 2000;

export interface EngineOptions {
  readonly dryRun?: boolean;
  readonly timeoutsMs?: Partial<Record<StageId, number>>;
  /** Aborting stops after the requests in flight; the result says what was applied. */
  readonly signal?: AbortSignal;
  /** Log lines of a failing container to report. */
  readonly logLines?: number;
}

export interface RunResult {
  readonly outcome: RunOutcome;
  readonly applied: readonly string[];
}

/** Why a stage stopped the run. */
class StageFailure extends Error {
  constructor(
    readonly outcome: RunOutcome,
    readonly reason: string,
    message: string,
    readonly hint: string,
    readonly object?: string,
    readonly logs: readonly string[] = [],
  ) {
    super(message);
  }

  withLogs(logs: readonly string[]): StageFailure {
    return new StageFailure(this.outcome, this.reason, this.message, this.hint, this.object, logs);
  }
}

function refOf(obj: KubeObject): ObjectRef {
  return { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace };
}

/**
 * Applies the plan stage by stage with server-side apply, waits on each stage's workloads through
 * watches, explains stalls while waiting and stops at the first failure, saying what was applied.
 */
export async function runPlan(plan: RenderedPlan, kube: Kube, reporter: Reporter, options: EngineOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const dryRun = options.dryRun ?? false;
  const total = plan.stages.reduce((n, s) => n + s.objects.length, 0);
  const applied: string[] = [];
  const appliedGeneration = new Map<string, number>();
  const appliedAction = new Map<string, ApplyAction>();
  let view: NamespaceView | undefined;
  let viewReady: Promise<void> = Promise.resolve();
  let namespaceIsNew = false;
  let current: Stage | undefined;

  reporter.event({
    event: "plan", context: kube.contextName, server: kube.server, namespace: plan.namespace, dryRun,
    stages: plan.stages.map((s) => ({ id: s.id, title: s.title, objects: s.objects.map(objectRef) })),
  });

  const applyOne = async (stage: Stage, obj: KubeObject): Promise<void> => {
    const ref = objectRef(obj);
    if (dryRun && namespaceIsNew && isNamespaced(obj)) {
      // The server cannot dry-run objects into a namespace that does not exist yet.
      reporter.event({ event: "apply", stage: stage.id, object: ref, action: "create" });
      return;
    }
    const live = await kube.get(refOf(obj));
    if (dryRun && obj.kind === "Namespace" && !live) namespaceIsNew = true;
    const result = await kube.apply(obj, { dryRun });
    let action: ApplyAction;
    let fields: string[] | undefined;
    if (dryRun) {
      fields = live ? changedFields(live, result) : undefined;
      action = !live ? "create" : fields!.length > 0 ? "change" : "none";
    } else {
      action = !live ? "created" : live.metadata.resourceVersion === result.metadata.resourceVersion ? "unchanged" : "configured";
      applied.push(ref);
      appliedAction.set(ref, action);
      appliedGeneration.set(ref, (result.metadata.generation as number | undefined) ?? 0);
    }
    reporter.event({ event: "apply", stage: stage.id, object: ref, action, ...(fields && fields.length > 0 ? { fields } : {}) });
  };

  const containerLogs = async (d: { pod?: string | undefined; container?: string | undefined; previousLogs?: boolean | undefined }): Promise<string[]> => {
    if (!d.pod || !d.container) return [];
    try {
      let text = await kube.logs(plan.namespace, d.pod, d.container, { tailLines: options.logLines ?? 20, previous: d.previousLogs ?? false });
      if (!text.trim() && d.previousLogs) text = await kube.logs(plan.namespace, d.pod, d.container, { tailLines: options.logLines ?? 20 });
      return text.split("\n").filter((l) => l.length > 0);
    } catch (err) {
      return [`(no log available: ${(err as Error).message})`];
    }
  };

  const waitForStage = (stage: Stage, workloads: readonly KubeObject[], timeoutMs: number, sinceMs: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const lastStatus = new Map<string, string>();
      const lastStall = new Map<string, string>();
      const lastDiagnosis = new Map<string, Diagnosis>();
      const firstSeen = new Map<string, number>();
      let recheck: NodeJS.Timeout | undefined;
      // A passing condition (a claim binding, a pod being scheduled) is not a stall: report one
      // only once it has lasted STALL_GRACE_MS, checking again then even if no watch event comes.
      const stallPersisted = (ref: string, d: Diagnosis): boolean => {
        const key = `${ref}:${d.reason}`;
        const since = firstSeen.get(key) ?? Date.now();
        firstSeen.set(key, since);
        const remaining = since + STALL_GRACE_MS - Date.now();
        if (remaining <= 0) return true;
        clearTimeout(recheck);
        recheck = setTimeout(evaluate, remaining + 10);
        return false;
      };
      let settled = false;
      /** Ends the wait once: no more evaluations, timers or signal handling. False if already ended. */
      const stopWaiting = (): boolean => {
        if (settled) return false;
        settled = true;
        unsubscribe();
        clearTimeout(timer);
        clearTimeout(recheck);
        options.signal?.removeEventListener("abort", onAbort);
        return true;
      };
      const finish = (err?: StageFailure): void => {
        if (!stopWaiting()) return;
        if (err) {
          void logs.stop();
          reject(err);
        } else {
          // A finished container's log ends by itself; wait for it so no line is lost.
          void logs.drain(LOG_DRAIN_MS, LOG_IDLE_MS).then(resolve);
        }
      };
      const failWithLogs = (failure: StageFailure, logSource: Parameters<typeof containerLogs>[0]): void => {
        if (!stopWaiting()) return;
        void logs.stop();
        void containerLogs(logSource).then((lines) => reject(failure.withLogs(lines)));
      };
      // The migration Job's output streams into the events while it runs.
      const logs = new PodLogFollower(kube, plan.namespace, (pod, line) => {
        const job = workloads.find((w) => w.kind === "Job");
        if (job) reporter.event({ event: "log", stage: stage.id, object: objectRef(job), pod, line });
      });
      const followJobPods = (): void => {
        // A Job this run left unchanged ran before: its old output is not news.
        for (const w of workloads.filter((x) => x.kind === "Job" && appliedAction.get(objectRef(x)) !== "unchanged")) {
          const live = view!.get(w.kind, w.metadata.name);
          if (!live) continue;
          for (const pod of podsOf(live, view!.snapshot())) {
            const statuses = (pod.status?.containerStatuses as { name: string; state?: Record<string, unknown>; restartCount?: number }[] | undefined) ?? [];
            // Only a container that has started has a log; a crash-looping one is reported with its previous log instead.
            const started = statuses.find((c) => (c.state?.["running"] || c.state?.["terminated"]) && !c.restartCount);
            if (started) logs.follow(pod.metadata.name, started.name);
          }
        }
      };
      const evaluate = (): void => {
        if (settled) return;
        followJobPods();
        let done = 0;
        const waitingOn: string[] = [];
        for (const w of workloads) {
          const ref = objectRef(w);
          const live = view!.get(w.kind, w.metadata.name);
          const seen = live && ((live.metadata.generation as number | undefined) ?? 0) >= (appliedGeneration.get(ref) ?? 0);
          const r: Readiness = seen ? readinessOf(live) : { state: "pending", message: "waiting for the API server to report it" };
          const key = `${r.state}:${r.message}`;
          if (lastStatus.get(ref) !== key) {
            lastStatus.set(ref, key);
            reporter.event({ event: "status", stage: stage.id, object: ref, state: r.state, message: r.message });
          }
          if (r.state === "ready") {
            done++;
            continue;
          }
          if (r.state === "failed") {
            // The pods say more than the Job's condition: prefer their diagnosis for the log to show.
            const d = diagnose(live!, view!.snapshot(), sinceMs);
            const pods = podsOf(live!, view!.snapshot());
            const pod = pods.sort((a, b) => String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)))[0];
            const restarted = ((pod?.status?.containerStatuses as { restartCount?: number }[] | undefined)?.[0]?.restartCount ?? 0) > 0;
            const logSource = d?.pod ? d : { pod: pod?.metadata.name, container: (pod?.spec?.containers as { name: string }[] | undefined)?.[0]?.name, previousLogs: restarted };
            failWithLogs(new StageFailure("wait-failed", r.reason, `${ref}: ${r.message}${d ? ` (${d.reason}: ${d.message})` : ""}`, failureHint(stage.id, r.reason), ref), logSource);
            return;
          }
          waitingOn.push(ref);
          const d = seen ? diagnose(live, view!.snapshot(), sinceMs) : undefined;
          if (d && !d.fatal && !stallPersisted(ref, d)) continue;
          if (d) {
            lastDiagnosis.set(ref, d);
            const stallKey = `${d.reason}:${d.message}`;
            if (lastStall.get(ref) !== stallKey) {
              lastStall.set(ref, stallKey);
              reporter.event({ event: "stall", stage: stage.id, object: ref, reason: d.reason, message: d.message, hint: d.hint, fatal: d.fatal });
            }
            if (d.fatal) {
              failWithLogs(new StageFailure("wait-failed", d.reason, `${ref}: ${d.message}`, d.hint, ref), d);
              return;
            }
          }
        }
        reporter.progress({ stage: stage.id, waitingOn, done, total: workloads.length });
        if (done === workloads.length) finish();
      };
      const onAbort = (): void => finish(new StageFailure("interrupted", "Interrupted", "interrupted while waiting", ""));
      const timer = setTimeout(() => {
        const pending = workloads.map(objectRef).filter((ref) => !lastStatus.get(ref)?.startsWith("ready"));
        const d = pending.map((ref) => lastDiagnosis.get(ref)).find((x) => x);
        const status = pending.map((ref) => `${ref}: ${lastStatus.get(ref)?.split(":").slice(1).join(":") ?? "not seen"}`).join("; ");
        finish(new StageFailure("timeout", d?.reason ?? "Timeout", `not ready after ${Math.round(timeoutMs / 1000)} s: ${status}${d ? `; ${d.message}` : ""}`,
          d?.hint ?? "it is still progressing: re-run with a longer --timeout, or look at kubectl describe for what it waits on", pending[0]));
      }, timeoutMs);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      const unsubscribe = view!.onChange(evaluate);
      evaluate();
    });

  try {
    for (const stage of plan.stages) {
      current = stage;
      if (options.signal?.aborted) throw new StageFailure("interrupted", "Interrupted", "interrupted before this stage", "");
      const stageStart = Date.now();
      reporter.event({ event: "stage", stage: stage.id, index: stage.index, total: plan.stages.length, title: stage.title, status: "running", elapsedMs: 0 });
      // The namespace first: everything else of the stage lives in it.
      const first = stage.objects.filter((o) => o.kind === "Namespace");
      const rest = stage.objects.filter((o) => o.kind !== "Namespace");
      for (const batch of [first, rest]) {
        const results = await Promise.allSettled(batch.map((o) => applyOne(stage, o)));
        const rejected = results.map((r, i) => [r, batch[i]!] as const).find(([r]) => r.status === "rejected");
        if (rejected) throw applyFailure((rejected[0] as PromiseRejectedResult).reason, objectRef(rejected[1]));
      }
      if (options.signal?.aborted) throw new StageFailure("interrupted", "Interrupted", "interrupted after applying this stage", "");
      // The namespace exists now: open the watches while the next stages apply, not when the first wait begins.
      if (!dryRun && !view) {
        view = new NamespaceView(kube, plan.namespace);
        viewReady = view.start();
        viewReady.catch(() => undefined);
      }
      const workloads = stage.objects.filter((o) => hasReadiness(o.kind));
      if (!dryRun && workloads.length > 0) {
        await viewReady;
        await waitForStage(stage, workloads, options.timeoutsMs?.[stage.id] ?? DEFAULT_TIMEOUTS_MS[stage.id], stageStart);
      }
      if (!dryRun && stage.id === "migrate") await removeOldMigrationJobs(kube, plan.namespace, workloads.map((w) => w.metadata.name), (object, message) =>
        reporter.event({ event: "cleanup", stage: stage.id, object, message }));
      reporter.event({ event: "stage", stage: stage.id, index: stage.index, total: plan.stages.length, title: stage.title, status: "done", elapsedMs: Date.now() - stageStart });
    }
    const message = dryRun ? "dry run: nothing was changed" : `Mathison is installed in namespace ${plan.namespace}`;
    reporter.event({ event: "done", ok: true, outcome: "ok", elapsedMs: Date.now() - started, applied: applied.length, total, message });
    return { outcome: "ok", applied };
  } catch (err) {
    const f = err instanceof StageFailure ? err : applyFailure(err, undefined);
    const stage = current!;
    reporter.event({ event: "failed", stage: stage.id, ...(f.object ? { object: f.object } : {}), reason: f.reason, message: f.message, hint: f.hint, logs: f.logs });
    reporter.event({ event: "stage", stage: stage.id, index: stage.index, total: plan.stages.length, title: stage.title, status: "failed", elapsedMs: 0 });
    const done = stage.index;
    const resume = dryRun ? undefined
      : `${applied.length} of ${total} objects applied (stages 1-${done} complete${done < plan.stages.length ? `, stopped in stage ${done + 1}: ${stage.title}` : ""}). ` +
        "Re-run the same command to resume: applied objects are left unchanged and the install carries on from there.";
    reporter.event({ event: "done", ok: false, outcome: f.outcome, elapsedMs: Date.now() - started, applied: applied.length, total, message: f.message, ...(resume ? { resume } : {}) });
    return { outcome: f.outcome, applied };
  } finally {
    view?.stop();
  }
}

function applyFailure(err: unknown, object: string | undefined): StageFailure {
  if (err instanceof StageFailure) return err;
  if (err instanceof ClusterAccessError) {
    return new StageFailure("cluster-access", "ClusterUnreachable", err.message, "check that the cluster is up and your kubeconfig's context and credentials (kubectl cluster-info)", object);
  }
  if (err instanceof KubeApiError) {
    const hint = err.status === 403
      ? "your credentials may not do this: an installer needs to create namespaces, ClusterRoles and workloads (cluster-admin or equivalent)"
      : err.status === 422 || err.status === 400
        ? "the API server rejected the object as invalid: the message names the field"
        : "the API server refused the request: the message says why";
    return new StageFailure("apply-failed", err.reason ?? `HTTP${err.status}`, err.message, hint, object);
  }
  return new StageFailure("apply-failed", "Error", (err as Error).message ?? String(err), "an unexpected error: re-run to resume; report it if it persists", object);
}

function failureHint(stage: StageId, reason: string): string {
  if (stage === "migrate") return "the database migration failed: its log above says why. web and worker were not changed; fix the cause and re-run to retry the migration";
  if (reason === "ProgressDeadlineExceeded") return "the new pods never became ready: kubectl describe on them shows why";
  return "kubectl describe on the object and its pods shows why";
}

/** Finished migration Jobs of earlier images: their pod templates are immutable, so each image got its own. */
async function removeOldMigrationJobs(kube: Kube, namespace: string, keep: readonly string[], report: (object: string, message: string) => void): Promise<void> {
  const { items } = await kube.list("batch/v1", "Job", namespace, { labelSelector: "app.kubernetes.io/component=migration,app.kubernetes.io/part-of=mathison" });
  for (const job of items) {
    if (keep.includes(job.metadata.name)) continue;
    const finished = (job.status?.conditions as { type: string; status: string }[] | undefined)?.some((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
    if (!finished) continue;
    await kube.delete({ apiVersion: "batch/v1", kind: "Job", name: job.metadata.name, namespace }, { propagation: "Background" });
    report(`Job/${job.metadata.name}`, "deleted: a migration Job of an earlier image");
  }
}

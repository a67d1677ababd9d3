import { type KubeObject, typed } from "../facts/objects.js";

/** Helm's and kapp's three-valued readiness, always with a message a person can act on. */
export type Readiness =
  | { readonly state: "pending"; readonly message: string }
  | { readonly state: "ready"; readonly message: string }
  | { readonly state: "failed"; readonly reason: string; readonly message: string };

const KINDS_WITH_ROLLOUT = new Set(["Deployment", "StatefulSet", "Job"]);

/** Whether the engine waits on this kind after applying it. */
export function hasReadiness(kind: string): boolean {
  return KINDS_WITH_ROLLOUT.has(kind);
}

/** A status condition, as every kind with conditions has them. */
interface Condition {
  readonly type: string;
  readonly status?: string;
  readonly reason?: string;
  readonly message?: string;
}

function condition(status: { conditions?: readonly Condition[] } | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

function notObserved(generation: number | undefined, observed: number | undefined): Readiness | undefined {
  if (generation !== undefined && (observed === undefined || observed < generation)) {
    return { state: "pending", message: "waiting for the controller to observe the new spec" };
  }
  return undefined;
}

/** As `kubectl rollout status deployment`. */
export function deploymentReadiness(obj: KubeObject): Readiness {
  const d = typed(obj, "Deployment");
  const s = d.status ?? {};
  const early = notObserved(d.metadata.generation, s.observedGeneration);
  if (early) return early;
  const progressing = condition(s, "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded") {
    return {
      state: "failed",
      reason: "ProgressDeadlineExceeded",
      message: progressing.message ?? "the rollout exceeded its progress deadline",
    };
  }
  const desired = d.spec?.replicas ?? 1;
  const updated = s.updatedReplicas ?? 0;
  const replicas = s.replicas ?? 0;
  const available = s.availableReplicas ?? 0;
  if (updated < desired)
    return { state: "pending", message: `${updated} of ${desired} new replicas have been updated` };
  if (replicas > updated)
    return { state: "pending", message: `${replicas - updated} old replicas are pending termination` };
  if (available < updated)
    return { state: "pending", message: `${available} of ${updated} updated replicas are available` };
  return { state: "ready", message: `${available}/${desired} ready` };
}

/** As `kubectl rollout status statefulset` (RollingUpdate). */
export function statefulSetReadiness(obj: KubeObject): Readiness {
  const set = typed(obj, "StatefulSet");
  const st = set.status ?? { replicas: 0 };
  const early = notObserved(set.metadata.generation, st.observedGeneration);
  if (early) return early;
  const desired = set.spec?.replicas ?? 1;
  const ready = st.readyReplicas ?? 0;
  const updated = st.updatedReplicas ?? 0;
  if (ready < desired) return { state: "pending", message: `${ready} of ${desired} replicas are ready` };
  const partition = set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  if (set.spec?.updateStrategy?.type !== "OnDelete" && partition === 0) {
    if (updated < desired) return { state: "pending", message: `${updated} of ${desired} replicas are updated` };
    if (st.updateRevision && st.currentRevision !== st.updateRevision) {
      return {
        state: "pending",
        message: `waiting for the rolling update to revision ${st.updateRevision} to complete`,
      };
    }
  }
  return { state: "ready", message: `${ready}/${desired} ready` };
}

/** Complete or Failed conditions, as `kubectl wait --for=condition=Complete`. */
export function jobReadiness(obj: KubeObject): Readiness {
  const st = typed(obj, "Job").status;
  const failed = condition(st, "Failed");
  if (failed?.status === "True")
    return { state: "failed", reason: failed.reason ?? "Failed", message: failed.message ?? "the Job failed" };
  const complete = condition(st, "Complete");
  if (complete?.status === "True") return { state: "ready", message: "completed" };
  return {
    state: "pending",
    message: `${st?.active ?? 0} running, ${st?.succeeded ?? 0} succeeded, ${st?.failed ?? 0} failed`,
  };
}

/**
 * A Job whose pods have already succeeded as many times as it needs completions is done: the Job
 * controller marks it Complete after its batching period (about a second), but nothing can undo
 * a success, so the next stage need not wait for the mark.
 */
export function jobReadinessWithPods(j: KubeObject, pods: readonly KubeObject[]): Readiness {
  const r = jobReadiness(j);
  if (r.state !== "pending") return r;
  const completions = typed(j, "Job").spec?.completions ?? 1;
  const succeeded = pods.filter((p) => p.status?.phase === "Succeeded").length;
  return succeeded >= completions
    ? { state: "ready", message: `completed (${succeeded} of ${completions} pods succeeded)` }
    : r;
}

/** A lone pod (no controller to retry it): ready once Running, failed once it ended; absent is pending. */
export function podReadiness(pod: KubeObject | undefined): Readiness {
  const phase = pod ? typed(pod, "Pod").status?.phase : undefined;
  if (phase === "Running") return { state: "ready", message: "running" };
  if (phase === "Failed" || phase === "Succeeded")
    return { state: "failed", reason: phase, message: `the pod ended (${phase})` };
  return { state: "pending", message: phase ? `pod is ${phase}` : "not created yet" };
}

export function readinessOf(obj: KubeObject): Readiness {
  switch (obj.kind) {
    case "Deployment":
      return deploymentReadiness(obj);
    case "StatefulSet":
      return statefulSetReadiness(obj);
    case "Job":
      return jobReadiness(obj);
    default:
      return { state: "ready", message: "applied" };
  }
}

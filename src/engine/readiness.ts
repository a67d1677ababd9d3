import type { KubeObject } from "../facts/objects.js";

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

function condition(obj: KubeObject, type: string): { status?: string; reason?: string; message?: string } | undefined {
  return (
    obj.status?.conditions as { type: string; status?: string; reason?: string; message?: string }[] | undefined
  )?.find((c) => c.type === type);
}

function notObserved(obj: KubeObject): Readiness | undefined {
  const generation = obj.metadata.generation as number | undefined;
  const observed = obj.status?.observedGeneration as number | undefined;
  if (generation !== undefined && (observed === undefined || observed < generation)) {
    return { state: "pending", message: "waiting for the controller to observe the new spec" };
  }
  return undefined;
}

/** As `kubectl rollout status deployment`. */
export function deploymentReadiness(d: KubeObject): Readiness {
  const early = notObserved(d);
  if (early) return early;
  const progressing = condition(d, "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded") {
    return {
      state: "failed",
      reason: "ProgressDeadlineExceeded",
      message: progressing.message ?? "the rollout exceeded its progress deadline",
    };
  }
  const desired = (d.spec?.replicas as number | undefined) ?? 1;
  const s = d.status ?? {};
  const updated = (s.updatedReplicas as number | undefined) ?? 0;
  const replicas = (s.replicas as number | undefined) ?? 0;
  const available = (s.availableReplicas as number | undefined) ?? 0;
  if (updated < desired)
    return { state: "pending", message: `${updated} of ${desired} new replicas have been updated` };
  if (replicas > updated)
    return { state: "pending", message: `${replicas - updated} old replicas are pending termination` };
  if (available < updated)
    return { state: "pending", message: `${available} of ${updated} updated replicas are available` };
  return { state: "ready", message: `${available}/${desired} ready` };
}

/** As `kubectl rollout status statefulset` (RollingUpdate). */
export function statefulSetReadiness(s: KubeObject): Readiness {
  const early = notObserved(s);
  if (early) return early;
  const desired = (s.spec?.replicas as number | undefined) ?? 1;
  const st = s.status ?? {};
  const ready = (st.readyReplicas as number | undefined) ?? 0;
  const updated = (st.updatedReplicas as number | undefined) ?? 0;
  if (ready < desired) return { state: "pending", message: `${ready} of ${desired} replicas are ready` };
  const partition = (s.spec?.updateStrategy?.rollingUpdate?.partition as number | undefined) ?? 0;
  if (s.spec?.updateStrategy?.type !== "OnDelete" && partition === 0) {
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
export function jobReadiness(j: KubeObject): Readiness {
  const failed = condition(j, "Failed");
  if (failed?.status === "True")
    return { state: "failed", reason: failed.reason ?? "Failed", message: failed.message ?? "the Job failed" };
  const complete = condition(j, "Complete");
  if (complete?.status === "True") return { state: "ready", message: "completed" };
  const st = j.status ?? {};
  return {
    state: "pending",
    message: `${st.active ?? 0} running, ${st.succeeded ?? 0} succeeded, ${st.failed ?? 0} failed`,
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
  const completions = (j.spec?.completions as number | undefined) ?? 1;
  const succeeded = pods.filter((p) => p.status?.phase === "Succeeded").length;
  return succeeded >= completions
    ? { state: "ready", message: `completed (${succeeded} of ${completions} pods succeeded)` }
    : r;
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

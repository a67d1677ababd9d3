import { diagnose, type NamespaceSnapshot } from "./diagnose.js";
import { readinessOf } from "./readiness.js";
import { type KubeObject, typed } from "../facts/objects.js";

/** A workload's state in one word, as KOTS's status informers name them. */
export type HealthState = "Ready" | "Updating" | "Degraded" | "Unavailable" | "Missing";

export interface WorkloadHealth {
  readonly object: string;
  readonly state: HealthState;
  /** The `rollout status`-style message, or the reason it is stuck. */
  readonly message: string;
}

function available(obj: KubeObject): number {
  const s = obj.status ?? {};
  return ((obj.kind === "Deployment" ? s.availableReplicas : s.readyReplicas) as number | undefined) ?? 0;
}

/**
 * Ready when its rollout is done; Updating while a rollout progresses; Degraded when something is
 * stuck or failed but pods still serve; Unavailable when none does; Missing when it is gone.
 */
export function workloadHealth(object: string, live: KubeObject | undefined, snap: NamespaceSnapshot): WorkloadHealth {
  if (!live) return { object, state: "Missing", message: "not found in the cluster" };
  const readiness = readinessOf(live);
  if (readiness.state === "ready") return { object, state: "Ready", message: readiness.message };
  const stuck = diagnose(live, snap, 0);
  const message = stuck ? `${stuck.reason}: ${stuck.message}` : readiness.message;
  const desired = typed(live, "Deployment").spec?.replicas ?? 1;
  if (desired > 0 && available(live) === 0) return { object, state: "Unavailable", message };
  if (stuck || readiness.state === "failed") return { object, state: "Degraded", message };
  return { object, state: "Updating", message };
}

import { KubeApiError, type Kube } from "../kube/types.js";
import type { RenderedPlan } from "../render/render.js";
import type { StageId } from "../render/stages.js";
import { changedFields } from "./diff.js";
import { jobReadiness } from "./readiness.js";
import { FIELD_MANAGER_NAME, WEB_DEPLOYMENT_NAME } from "../facts/names.js";
import {
  inventoryKey,
  parseInventoryKey,
  isNamespaced,
  objectRef,
  type KubeObject,
  refOf,
  typed,
} from "../facts/objects.js";

/**
 * What a run will do to one object. `replace` deletes and recreates (a migration Job that did not
 * complete: its pod template is immutable, and a retry needs a fresh Job); `delete` prunes an
 * object an earlier run applied that this installer no longer renders.
 */
export type ChangeAction = "create" | "change" | "unchanged" | "replace" | "delete";

export interface FieldConflict {
  /** As the API server names it: `.spec.replicas`. */
  readonly field: string;
  readonly manager: string;
}

export interface ObjectChange {
  readonly stage: StageId;
  readonly object: string;
  readonly action: ChangeAction;
  /** Changed paths (Secret: `data.KEY`, never values). */
  readonly fields: readonly string[];
  /** What will be applied; for `delete`, the object as it is. */
  readonly desired: KubeObject;
  readonly live: KubeObject | undefined;
  /** Fields another manager owns that this run takes back. */
  readonly conflicts: readonly FieldConflict[];
  /** The API server would reject the change (an immutable field, an invalid value). */
  readonly refused?: string;
  /** One line of why, when the action alone does not say it. */
  readonly note?: string;
}

export interface InstallPlan {
  readonly namespace: string;
  readonly rendered: RenderedPlan;
  /** In stage order, then prunes (stage `edge`) last. */
  readonly changes: readonly ObjectChange[];
}

export interface PlanOptions {
  readonly namespaceExists: boolean;
  /** The web replica count was given in this run: it is applied even where another manager owns it. */
  readonly replicasGiven: boolean;
  /** Inventory of the last successful run: what it applied and this plan no longer renders is pruned. */
  readonly previousInventory: readonly string[];
}

/** Every object of the plan, checked against the cluster with server-side dry runs, in parallel. */
export async function computePlan(rendered: RenderedPlan, kube: Kube, options: PlanOptions): Promise<InstallPlan> {
  const planned = rendered.stages.flatMap((stage) =>
    stage.objects.map((obj) => planObject(kube, stage.id, obj, options)),
  );
  const [changes, prunes] = await Promise.all([Promise.all(planned), planPrunes(rendered, kube, options)]);
  return { namespace: rendered.namespace, rendered, changes: [...changes, ...prunes] };
}

async function planObject(kube: Kube, stage: StageId, obj: KubeObject, options: PlanOptions): Promise<ObjectChange> {
  const base = { stage, object: objectRef(obj), conflicts: [] as FieldConflict[] };
  // The server cannot dry-run objects into a namespace that does not exist yet.
  if (!options.namespaceExists && isNamespaced(obj))
    return { ...base, action: "create", fields: [], desired: obj, live: undefined };
  const live = await kube.get(refOf(obj));
  if (obj.kind === "Secret" && live) return planSecret(base, obj, live);
  const kept = live ? replicasKept(obj, live, options) : undefined;
  const desired = kept ? withoutReplicas(obj) : obj;
  const note = kept?.note;
  let result: KubeObject;
  let conflicts: FieldConflict[] = [];
  try {
    ({ result, conflicts } = await dryRun(kube, desired));
  } catch (err) {
    if (!(err instanceof KubeApiError) || (err.status !== 422 && err.status !== 400)) throw err;
    if (obj.kind === "Job" && live)
      return {
        ...base,
        action: "replace",
        fields: [],
        desired,
        live,
        note: "its pod template changed, and a Job's template is immutable: it is deleted and runs again",
      };
    return { ...base, action: live ? "change" : "create", fields: [], desired, live, refused: err.message };
  }
  if (!live) return { ...base, action: "create", fields: [], desired, live, conflicts };
  if (obj.kind === "Job") {
    const retry = await migrationNeedsRetry(kube, live);
    if (retry)
      return {
        ...base,
        action: "replace",
        fields: [],
        desired,
        live,
        note: `the migration ${retry}: its Job is deleted and runs again`,
      };
  }
  const fields = changedFields(live, result);
  return {
    ...base,
    action: fields.length > 0 ? "change" : "unchanged",
    fields,
    desired,
    live,
    conflicts: conflicts.filter((c) => setsBack(c, fields)),
    ...(note ? { note } : {}),
  };
}

const STUCK_REASONS = new Set([
  "CrashLoopBackOff",
  "ImagePullBackOff",
  "ErrImagePull",
  "InvalidImageName",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
]);

/**
 * Why an earlier run's migration Job must run again, or undefined: it failed, or its pod crash-loops
 * or cannot start. A Job still running healthily is left to finish: killing a migration half-way
 * is worse than waiting for it.
 */
async function migrationNeedsRetry(kube: Kube, job: KubeObject): Promise<string | undefined> {
  const state = jobReadiness(job);
  if (state.state === "failed") return `failed (${state.reason})`;
  if (state.state === "ready") return undefined;
  // A failed pod is a failed attempt even before the Job's Failed condition lands (its controller
  // deletes the crash-looping pod first).
  const failedPods = typed(job, "Job").status?.failed ?? 0;
  if (failedPods > 0) return `did not complete (${failedPods} failed ${failedPods === 1 ? "attempt" : "attempts"})`;
  const conditions = typed(job, "Job").status?.conditions ?? [];
  if (conditions.some((c) => c.type === "FailureTarget" && c.status === "True"))
    return "failed (its controller is stopping it)";
  const { items } = await kube.list("v1", "Pod", job.metadata.namespace, {
    labelSelector: `batch.kubernetes.io/job-name=${job.metadata.name}`,
  });
  // No run is in progress (the lock says so): a Job with no live pod will not finish by itself. Its
  // status can lag its pods (a failed pod already deleted, not yet counted), so the pods decide.
  const live = items.filter((p) => !p.metadata.deletionTimestamp);
  if (live.length === 0) return "did not complete (no pod is running it)";
  for (const pod of live) {
    for (const cs of (pod.status?.containerStatuses as
      | { restartCount?: number; state?: { waiting?: { reason?: string } } }[]
      | undefined) ?? []) {
      const waiting = cs.state?.waiting?.reason;
      if (waiting && STUCK_REASONS.has(waiting)) return `did not complete (${waiting})`;
      if ((cs.restartCount ?? 0) > 0) return `did not complete (restarted ${cs.restartCount} times)`;
    }
  }
  return undefined;
}

/** A non-forced dry run first, so fields other managers own are named; then the forced one this run will make. */
async function dryRun(kube: Kube, obj: KubeObject): Promise<{ result: KubeObject; conflicts: FieldConflict[] }> {
  try {
    return { result: await kube.apply(obj, { dryRun: true, force: false }), conflicts: [] };
  } catch (err) {
    if (!(err instanceof KubeApiError) || err.status !== 409) throw err;
    const conflicts = err.causes.map((c) => ({
      field: c.field ?? "?",
      manager: /conflict with "([^"]+)"/.exec(c.message ?? "")?.[1] ?? "another manager",
    }));
    return { result: await kube.apply(obj, { dryRun: true, force: true }), conflicts };
  }
}

/** The Secret is compared key by key, without a dry run: values never leave this function. */
function planSecret(
  base: { stage: StageId; object: string; conflicts: FieldConflict[] },
  desired: KubeObject,
  live: KubeObject,
): ObjectChange {
  const want: Record<string, string> = typed(desired, "Secret").data ?? {};
  const have: Record<string, string> = typed(live, "Secret").data ?? {};
  const fields = [...new Set([...Object.keys(want), ...Object.keys(have)])]
    .filter((k) => k in want && want[k] !== have[k])
    .map((k) => `data.${k}`);
  return { ...base, action: fields.length > 0 ? "change" : "unchanged", fields, desired, live };
}

/** The manager other than the installer that owns `spec.replicas` (kubectl scale, an HPA), if any. */
export function replicasOwner(live: KubeObject): string | undefined {
  const entries =
    (live.metadata.managedFields as { manager?: string; fieldsV1?: Record<string, any> }[] | undefined) ?? [];
  const owner = entries.find(
    (m) => m.manager !== FIELD_MANAGER_NAME && m.fieldsV1?.["f:spec"]?.["f:replicas"] !== undefined,
  );
  return owner?.manager;
}

/**
 * A Deployment whose replica count another manager owns (kubectl scale, an autoscaler) keeps its
 * count, unless this run was given one for web (--web-replicas); the note is said only when the
 * kept count differs from Mathison's, and names the way to set it for that workload.
 */
function replicasKept(obj: KubeObject, live: KubeObject, options: PlanOptions): { note?: string } | undefined {
  if (obj.kind !== "Deployment") return undefined;
  const web = obj.metadata.name === WEB_DEPLOYMENT_NAME;
  const owner = web && options.replicasGiven ? undefined : replicasOwner(live);
  if (!owner) return undefined;
  const have = live.spec?.replicas;
  const want = obj.spec?.replicas;
  if (want === undefined || have === want) return {};
  const setIt = web
    ? "give --web-replicas to set them"
    : `Mathison runs ${want}; kubectl -n ${obj.metadata.namespace} scale deployment/${obj.metadata.name} --replicas=${want} sets it back`;
  return { note: `replicas (${have}) are managed by ${owner}: left alone (${setIt})` };
}

/**
 * A field another manager owns is "set back" only when this run changes its value: an atomic list
 * (a StatefulSet's volumeClaimTemplates) is a conflict by ownership alone even when both apply the same.
 */
function setsBack(conflict: FieldConflict, changed: readonly string[]): boolean {
  // `.spec.template.spec.containers[name="web"].image` is compared up to its keyed list: `spec.template.spec.containers`.
  const field = conflict.field.replace(/^\./, "").replace(/\[.*$/, "");
  return changed.some((f) => f === field || f.startsWith(`${field}.`) || f.startsWith(`${field}[`));
}

function withoutReplicas(obj: KubeObject): KubeObject {
  const copy = structuredClone(obj);
  delete copy.spec.replicas;
  return copy;
}

/** Objects the last successful run applied that this plan no longer renders, and that still exist. */
async function planPrunes(rendered: RenderedPlan, kube: Kube, options: PlanOptions): Promise<ObjectChange[]> {
  const current = new Set(rendered.stages.flatMap((s) => s.objects.map(inventoryKey)));
  const gone = options.previousInventory
    .filter((key) => !current.has(key))
    .map(parseInventoryKey)
    .filter((r) => r !== undefined);
  const found = await Promise.all(gone.map((ref) => kube.get(ref)));
  return (
    found
      // Only what carries Mathison's label: an inventory edited by hand must not delete someone else's object.
      .filter(
        (live): live is KubeObject =>
          live !== undefined && live.metadata.labels?.["app.kubernetes.io/part-of"] === "mathison",
      )
      .map((live) => ({
        stage: "edge" as StageId,
        object: objectRef(live),
        action: "delete",
        fields: [],
        desired: live,
        live,
        conflicts: [],
        note: "no longer part of Mathison's manifests",
      }))
  );
}

/** The plan's inventory: what a successful run has applied, for the next run's prune. */
export function inventoryOf(rendered: RenderedPlan): string[] {
  // Migration Jobs are cleaned up by their own rule (finished Jobs of earlier images).
  return rendered.stages.flatMap((s) => s.objects.filter((o) => o.kind !== "Job").map(inventoryKey));
}

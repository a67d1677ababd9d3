import type { ChosenValues } from "../config/resolve.js";
import type { ConfigProblem } from "../config/types.js";
import type { ObjectChange } from "./plan.js";
import { type KubeObject, typed } from "../facts/objects.js";
import { invoked } from "../base/invocation.js";

/** One consequence of a plan, in words a person deciding whether to go ahead needs. */
export interface Impact {
  readonly kind:
    | "rollout"
    | "scale"
    | "migration"
    | "secret"
    | "config"
    | "conflict"
    | "replicas-kept"
    | "prune"
    | "refused"
    | "mutable-tag";
  readonly object?: string;
  readonly message: string;
}

function podCount(live: KubeObject | undefined): number {
  const d = live ? typed(live, "Deployment") : undefined;
  return d?.status?.replicas ?? d?.spec?.replicas ?? 0;
}

function image(obj: KubeObject): string {
  return imageOf(obj) ?? "?";
}

function rolloutMessage(change: ObjectChange): string {
  const pods = podCount(change.live);
  const imageChange =
    change.live && image(change.live) !== image(change.desired)
      ? ` (${image(change.live)} → ${image(change.desired)})`
      : "";
  if (change.desired.kind === "StatefulSet") {
    return `${change.object} restarts its pod${imageChange}: ${change.desired.metadata.name === "postgres" ? "the database" : "the service"} is unavailable for a moment`;
  }
  const rolling = change.desired.spec?.strategy?.rollingUpdate as
    | { maxSurge?: unknown; maxUnavailable?: unknown }
    | undefined;
  const how = rolling
    ? ` one at a time, without downtime (maxSurge ${rolling.maxSurge}, maxUnavailable ${rolling.maxUnavailable})`
    : "";
  return `${change.object} rolls out${imageChange}: its ${pods} ${pods === 1 ? "pod is" : "pods are"} replaced${how}`;
}

/** What each change means: which workloads roll, a migration that runs, secrets that change, what is refused. */
export function describeImpact(changes: readonly ObjectChange[]): Impact[] {
  const out: Impact[] = [];
  for (const c of changes) {
    if (c.refused)
      out.push({
        kind: "refused",
        object: c.object,
        message: `${c.object}: the API server would refuse this change: ${c.refused}`,
      });
    if (c.note && c.action !== "replace" && c.action !== "delete")
      out.push({ kind: "replicas-kept", object: c.object, message: `${c.object}: ${c.note}` });
    for (const conflict of c.conflicts)
      out.push({
        kind: "conflict",
        object: c.object,
        message: `${c.object}: ${conflict.field} was changed by ${conflict.manager}; this run sets it back to Mathison's value`,
      });
    switch (c.action) {
      case "replace":
        out.push({
          kind: "migration",
          object: c.object,
          message: `${c.note ?? "the Job is recreated"} (image ${image(c.desired)})`,
        });
        break;
      case "create":
        if (c.desired.kind === "Job" && c.live === undefined)
          out.push({
            kind: "migration",
            object: c.object,
            message: `a migration Job runs for ${image(c.desired)} before web and worker change`,
          });
        break;
      case "delete":
        out.push({ kind: "prune", object: c.object, message: `${c.object} is deleted: ${c.note}` });
        break;
      case "change":
        out.push(...changeImpact(c));
        break;
    }
  }
  return out;
}

function changeImpact(c: ObjectChange): Impact[] {
  const kind = c.desired.kind;
  if (kind === "Secret")
    return [
      {
        kind: "secret",
        object: c.object,
        message: `${c.object}: ${c.fields.map((f) => f.replace(/^data\./, "")).join(", ")} ${c.fields.length === 1 ? "changes" : "change"} (values not shown); web and worker restart to read it`,
      },
    ];
  if (kind === "ConfigMap")
    return [
      {
        kind: "config",
        object: c.object,
        message: `${c.object}: ${c.fields.map((f) => f.replace(/^data\./, "")).join(", ")} change; web and worker restart to read it`,
      },
    ];
  if (kind !== "Deployment" && kind !== "StatefulSet") return [];
  const out: Impact[] = [];
  if (c.fields.some((f) => f.startsWith("spec.template")))
    out.push({ kind: "rollout", object: c.object, message: rolloutMessage(c) });
  if (c.fields.includes("spec.replicas"))
    out.push({
      kind: "scale",
      object: c.object,
      message: `${c.object} scales from ${c.live?.spec?.replicas} to ${c.desired.spec?.replicas} replicas`,
    });
  return out;
}

/** A reference without a digest can point at different images over time. */
export function isMutableReference(reference: string): boolean {
  return !reference.includes("@");
}

/**
 * Refusals the user can fix by changing a value: a StatefulSet's volume claim template is
 * immutable, so a new storage size or class is refused before anything is applied, naming the
 * setting as the user gave it.
 */
export function immutableProblems(changes: readonly ObjectChange[], chosen: ChosenValues): ConfigProblem[] {
  const problems: ConfigProblem[] = [...postgresMajorProblems(changes)];
  for (const c of changes) {
    if (!c.refused || c.desired.kind !== "StatefulSet" || !c.live) continue;
    const sizeKey = c.desired.metadata.name === "postgres" ? "postgresStorage" : "redisStorage";
    const liveClaim = c.live.spec?.volumeClaimTemplates?.[0]?.spec ?? {};
    const wantClaim = c.desired.spec?.volumeClaimTemplates?.[0]?.spec ?? {};
    const claimName = `${c.desired.spec?.volumeClaimTemplates?.[0]?.metadata?.name}-${c.desired.metadata.name}-0`;
    const liveSize = liveClaim.resources?.requests?.storage as string | undefined;
    if (liveSize !== undefined && liveSize !== wantClaim.resources?.requests?.storage) {
      const given = chosen[sizeKey];
      problems.push({
        field: given?.field ?? `--${sizeKey === "postgresStorage" ? "postgres" : "redis"}-storage`,
        shownValue: JSON.stringify(wantClaim.resources?.requests?.storage),
        allowed: `the installed size ${liveSize}: a StatefulSet's volume claim template cannot change; keep ${liveSize}, or grow PersistentVolumeClaim ${claimName} itself (kubectl patch) if its StorageClass allows expansion`,
      });
    }
    if ((liveClaim.storageClassName ?? "") !== (wantClaim.storageClassName ?? "")) {
      problems.push({
        field: chosen.storageClass?.field ?? "--storage-class",
        shownValue: JSON.stringify(wantClaim.storageClassName ?? ""),
        allowed: `the installed class ${JSON.stringify(liveClaim.storageClassName ?? "(cluster default)")}: the data lives on volumes of that class and a StatefulSet's volume claim template cannot change`,
      });
    }
  }
  return problems;
}

/** PostgreSQL's major version from its image: `pgvector/pgvector:0.8.1-pg16` and `postgres:16.4` → 16. */
export function postgresMajor(image: string | undefined): number | undefined {
  const tag = image?.split("@")[0]?.split("/").pop()?.split(":")[1];
  if (!tag) return undefined;
  const m = /(?:^|-)pg(\d+)(?:$|-)/.exec(tag) ?? (/postgres/.test(image!) ? /^(\d+)/.exec(tag) : null);
  return m ? Number(m[1]) : undefined;
}

/**
 * A new PostgreSQL major version cannot open the old one's data directory: the pod would
 * crash-loop on the kept volume. Never done silently: refused, with what to do instead.
 */
function postgresMajorProblems(changes: readonly ObjectChange[]): ConfigProblem[] {
  const change = changes.find(
    (c) => c.desired.kind === "StatefulSet" && c.desired.metadata.name === "postgres" && c.live,
  );
  const [live, want] = [imageOf(change?.live), imageOf(change?.desired)];
  const [from, to] = [postgresMajor(live), postgresMajor(want)];
  if (from === undefined || to === undefined || from === to) return [];
  return [
    {
      field: "StatefulSet/postgres image",
      shownValue: JSON.stringify(want),
      allowed:
        `PostgreSQL ${from} (${live}), the major version the data was written by: PostgreSQL ${to} cannot open it. ` +
        `Take a backup (${invoked()} backup), then upgrade the data with pg_upgrade or restore the dump into an install of PostgreSQL ${to}; ` +
        `or keep using an installer version that runs PostgreSQL ${from}`,
    },
  ];
}

/** A workload's (first) image. */
function imageOf(o: KubeObject | undefined): string | undefined {
  return o ? typed(o, "Deployment").spec?.template.spec?.containers[0]?.image : undefined;
}

import type { RemovalGroup } from "../engine/remove.js";
import type { Kube } from "../kube/types.js";
import { lastSuccessfulRun } from "../record/install-record.js";
import { gitopsWarning, type GitopsManaged } from "../facts/gitops.js";
import { markKeptData, type InstallState } from "../record/store.js";
import type { StageId } from "../render/stages.js";
import type { PlanEvent } from "./front-end.js";
import { objectRef, type ObjectRef, parseInventoryKey, type KubeObject, typed } from "../facts/objects.js";
import { RECORD_NAME, MIGRATION_JOB_PREFIX, SECRET_NAME } from "../facts/names.js";

// What an uninstall deletes and keeps, in the order it deletes: groups derived from the stages'
// kinds, the data (claims, the Secret) kept unless --delete-data, and the plan it shows first.

/** Something uninstall leaves in place, and why a person would want to know. */
export interface KeptItem {
  readonly object: string;
  readonly message: string;
}

export interface RemovalPlan {
  readonly namespace: string;
  readonly groups: readonly RemovalGroup[];
  /** What stays (without --delete-data). */
  readonly kept: readonly KeptItem[];
  /** What --delete-data destroys, named for the second confirm. */
  readonly dataLost: readonly KeptItem[];
}

/** The install's stages in reverse, by kind: what depends on something goes before it. */
const GROUPS: readonly (readonly [StageId, string, readonly string[]])[] = [
  ["edge", "Ingress, network policies and disruption budget", ["Ingress", "NetworkPolicy", "PodDisruptionBudget"]],
  ["app", "Web and worker", ["Deployment", "HorizontalPodAutoscaler"]],
  ["migrate", "Migration Jobs", ["Job"]],
  ["backing", "PostgreSQL and Redis", ["StatefulSet"]],
  ["config", "Services and configuration", ["Service", "ConfigMap", "Secret"]],
  [
    "base",
    "Service account and RBAC",
    ["ServiceAccount", "ClusterRoleBinding", "ClusterRole", "PersistentVolumeClaim", "Namespace"],
  ],
];

/** Titles when --delete-data adds the data to a group. */
const DATA_TITLES: Partial<Record<StageId, string>> = {
  config: "Services, configuration and secrets",
  base: "RBAC, data volumes and the namespace",
};

/** Which group removes a kind; -1 for one no group names (test/unit/lifecycle.test.ts keeps every rendered kind named). */
export function removalGroupOf(kind: string): number {
  return GROUPS.findIndex(([, , kinds]) => kinds.includes(kind));
}

function groupOf(kind: string): number {
  // A kind only another installer version renders goes first, as what depends on the rest.
  return Math.max(removalGroupOf(kind), 0);
}

/** Each StatefulSet's claims, as its controller names them: `<template>-<set>-<ordinal>`. */
function claimsOf(sets: readonly KubeObject[]): ObjectRef[] {
  return sets.flatMap((obj) => {
    const set = typed(obj, "StatefulSet");
    const templates = set.spec?.volumeClaimTemplates ?? [];
    // A parked set (0 replicas: the data moved to your own PostgreSQL) keeps its first claim.
    const replicas = Math.max(set.spec?.replicas ?? 1, 1);
    return templates.flatMap((t) =>
      Array.from({ length: replicas }, (_, i) => ({
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        name: `${t.metadata?.name}-${set.metadata.name}-${i}`,
        namespace: set.metadata.namespace,
      })),
    );
  });
}

/** What deleting a claim does to its data: its volume's reclaim policy, said plainly. */
async function describeClaim(kube: Kube, obj: KubeObject): Promise<string> {
  const claim = typed(obj, "PersistentVolumeClaim");
  const size = claim.status?.capacity?.["storage"] ?? claim.spec?.resources?.requests?.["storage"] ?? "?";
  const className = claim.spec?.storageClassName;
  const volumeName = claim.spec?.volumeName;
  const volume = volumeName
    ? await kube.get({ apiVersion: "v1", kind: "PersistentVolume", name: volumeName })
    : undefined;
  const storageClass = className
    ? await kube.get({ apiVersion: "storage.k8s.io/v1", kind: "StorageClass", name: className })
    : undefined;
  const policy =
    (volume && typed(volume, "PersistentVolume").spec?.persistentVolumeReclaimPolicy) ??
    (storageClass && typed(storageClass, "StorageClass").reclaimPolicy) ??
    "Delete";
  const what =
    policy === "Retain"
      ? `reclaim policy Retain: deleting the claim keeps the volume${volumeName ? ` ${volumeName}` : ""} and its data until an admin deletes it`
      : `reclaim policy ${policy}: deleting the claim deletes the data`;
  return `${size}, StorageClass ${className ?? "(default)"}; ${what}`;
}

/** Everything the install's record says it applied, its migration Jobs and record; data only with `deleteData`. */
const OWN_KEPT =
  "not touched: its data stays where it is (the install's Secret with its password goes with --delete-data)";

export async function planRemoval(kube: Kube, state: InstallState, deleteData: boolean): Promise<RemovalPlan> {
  const ns = state.namespace;
  const inventory = state.record.inventory
    .map(parseInventoryKey)
    .filter((r): r is NonNullable<typeof r> => r !== undefined);
  const jobs = (await kube.list("batch/v1", "Job", ns)).items.filter((j) =>
    j.metadata.name.startsWith(MIGRATION_JOB_PREFIX),
  );
  const sets = (await Promise.all(inventory.filter((r) => r.kind === "StatefulSet").map((r) => kube.get(r)))).filter(
    (s): s is KubeObject => s !== undefined,
  );
  const claims = (await Promise.all(claimsOf(sets).map((r) => kube.get(r)))).filter(
    (c): c is KubeObject => c !== undefined,
  );
  const parked = Boolean(state.record.answers?.["postgresUrl"]);
  const claimItems = await Promise.all(
    claims.map(async (c) => ({
      object: `PersistentVolumeClaim/${c.metadata.name}`,
      message: `${await describeClaim(kube, c)}${
        parked && c.metadata.labels?.["app.kubernetes.io/name"] === "postgres"
          ? " (the parked PostgreSQL's copy from before the move: the data is in your own PostgreSQL)"
          : ""
      }`,
    })),
  );
  // What the Secret is depends on whether the data it opens stays.
  const secret: KeptItem = {
    object: `Secret/${SECRET_NAME}`,
    message: deleteData
      ? "the database password and keys, gone with the data: a later install generates new ones"
      : "the database password and keys: a later install into this namespace reuses them and opens the kept database",
  };
  const data = new Set(["Namespace", "Secret"]);
  const refs: ObjectRef[] = [
    ...inventory.filter((r) => deleteData || !data.has(r.kind)),
    ...jobs.map((j) => ({ apiVersion: "batch/v1", kind: "Job", name: j.metadata.name, namespace: ns })),
    { apiVersion: "v1", kind: "ConfigMap", name: RECORD_NAME, namespace: ns },
    ...(deleteData
      ? claims.map((c) => ({
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          name: c.metadata.name,
          namespace: ns,
        }))
      : []),
  ];
  const existing = (await Promise.all(refs.map(async (r) => ((await kube.get(r)) ? r : undefined)))).filter(
    (r): r is ObjectRef => r !== undefined,
  );
  const groups = GROUPS.map(([id, title], i) => ({
    id,
    title: (deleteData && DATA_TITLES[id]) || title,
    refs: existing.filter((r) => groupOf(r.kind) === i),
  })).filter((g) => g.refs.length > 0);
  // Your own databases are outside the cluster: no uninstall touches them, --delete-data or not.
  const answers = state.record.answers ?? {};
  const own: KeptItem[] = [
    ...(answers["postgresUrl"] ? [{ object: `your own PostgreSQL ${answers["postgresUrl"]}`, message: OWN_KEPT }] : []),
    ...(answers["redisUrl"] ? [{ object: `your own Redis ${answers["redisUrl"]}`, message: OWN_KEPT }] : []),
  ];
  const kept = deleteData
    ? own
    : [...claimItems, secret, { object: `Namespace/${ns}`, message: "it holds what stays" }, ...own];
  return { namespace: ns, groups, kept, dataLost: deleteData ? [...claimItems, secret] : [] };
}

/**
 * The kept Secret remembers which release last migrated the kept database: a later install into
 * the namespace defaults to it rather than to `latest` (an unplanned upgrade, or a downgrade, of the data).
 */
export async function keepMigrationMark(kube: Kube, state: InstallState): Promise<void> {
  const lastOk = lastSuccessfulRun(state.record);
  const answers = state.record.answers;
  if (!lastOk || !answers) return;
  const images = Object.fromEntries(
    (["tag", "webImage", "workerImage"] as const).filter((k) => answers[k] !== undefined).map((k) => [k, answers[k]!]),
  );
  await markKeptData(kube, state, { image: lastOk.webImage, answers: images });
}

/** What stayed, and the commands that delete it (the record is gone then: uninstall can no longer do it). */
export function keptNotes(plan: RemovalPlan): string[] {
  const objects = plan.kept.filter((k) => !k.object.startsWith("Namespace/"));
  if (objects.length === 0) return [];
  const names = objects.map((k) =>
    k.object.replace(/^PersistentVolumeClaim\//, "pvc/").replace(/^Secret\//, "secret/"),
  );
  return [
    `kept: ${objects.map((k) => k.object).join(", ")} and the namespace: a re-install into ${plan.namespace} reuses the data and its password`,
    `to delete them for good: kubectl -n ${plan.namespace} delete ${names.join(" ")} && kubectl delete namespace ${plan.namespace}`,
  ];
}

/** The removal as the install's `plan` event: a delete per object, what stays as its impact. */
export function removalEvent(plan: RemovalPlan, kube: Kube, backupFile?: string, gitops?: GitopsManaged): PlanEvent {
  return {
    event: "plan",
    context: kube.contextName,
    server: kube.server,
    namespace: plan.namespace,
    dryRun: false,
    operation: "uninstall",
    stages: plan.groups.map((g) => ({ id: g.id, title: g.title, objects: g.refs.map(objectRef) })),
    changes: plan.groups.flatMap((g) =>
      g.refs.map((r) => ({ stage: g.id, object: objectRef(r), action: "delete" as const, fields: [], conflicts: [] })),
    ),
    impact: [
      ...(backupFile
        ? [{ kind: "backup", message: `first, a backup of the database into ${backupFile} (--no-backup skips it)` }]
        : []),
      ...plan.kept.map((k) => ({ kind: "kept", object: k.object, message: `stays: ${k.object} (${k.message})` })),
      ...plan.dataLost.map((k) => ({
        kind: "data-lost",
        object: k.object,
        message: `deleted for good: ${k.object} (${k.message})`,
      })),
    ],
    notices: gitops ? [gitopsWarning(gitops, "uninstall")] : [],
  };
}

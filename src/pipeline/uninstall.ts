import { join } from "node:path";
import { backupFileName, snapshotDir } from "../engine/backup-files.js";
import { backupFirst } from "./backup.js";
import type { Reporter, RunOutcome } from "../engine/events.js";
import { removeGroups, type RemovalGroup } from "../engine/remove.js";
import type { ConnectOptions } from "../kube/client.js";
import type { Kube } from "../kube/types.js";
import { lastSuccessfulRun, noInstallMessage } from "../record/install-record.js";
import { gitopsWarning, type GitopsManaged } from "../facts/gitops.js";
import { markKeptData, type InstallState } from "../record/store.js";
import type { StageId } from "../render/stages.js";
import { exitOf, runLocked, type CommandWords } from "./locked.js";
import { openCluster } from "./session.js";
import type { PlanEvent, ReportingOptions } from "./front-end.js";
import { objectRef, type ObjectRef, parseInventoryKey, type KubeObject, typed } from "../facts/objects.js";
import { RECORD_NAME, MIGRATION_JOB_PREFIX, SECRET_NAME } from "../facts/names.js";
import { ExitCode, type ExitCodeValue } from "../base/exit-codes.js";

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
    const replicas = set.spec?.replicas ?? 1;
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
  const claimItems = await Promise.all(
    claims.map(async (c) => ({
      object: `PersistentVolumeClaim/${c.metadata.name}`,
      message: await describeClaim(kube, c),
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
  const kept = deleteData ? [] : [...claimItems, secret, { object: `Namespace/${ns}`, message: "it holds what stays" }];
  return { namespace: ns, groups, kept, dataLost: deleteData ? [...claimItems, secret] : [] };
}

/**
 * The kept Secret remembers which release last migrated the kept database: a later install into
 * the namespace defaults to it rather than to `latest` (an unplanned upgrade, or a downgrade, of the data).
 */
async function keepMigrationMark(kube: Kube, state: InstallState): Promise<void> {
  const lastOk = lastSuccessfulRun(state.record);
  const answers = state.record.answers;
  if (!lastOk || !answers) return;
  const images = Object.fromEntries(
    (["tag", "webImage", "workerImage"] as const).filter((k) => answers[k] !== undefined).map((k) => [k, answers[k]!]),
  );
  await markKeptData(kube, state, { image: lastOk.webImage, answers: images });
}

/** What stayed, and the commands that delete it (the record is gone then: uninstall can no longer do it). */
function keptNotes(plan: RemovalPlan): string[] {
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

export interface UninstallOptions {
  readonly cluster: ConnectOptions;
  /** Another way to reach a cluster than the kubeconfig (unit tests pass an in-memory one). */
  readonly open?: () => Kube;
  readonly namespace: string;
  readonly deleteData: boolean;
  readonly timeoutMs: number;
  /** `--lock-timeout`: how long to wait for another run's lock (0: refuse at once). */
  readonly lockTimeoutMs: number;
  /** The final backup before --delete-data: `--no-backup` skips it, `--backup-dir` says where. */
  readonly backup?: { readonly skip: boolean; readonly dir?: string | undefined };
  /** Where XDG_DATA_HOME and HOME come from (default: the process's environment). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** How an uninstall asks and reports: the confirm is typing the namespace name (twice for data). */
export interface UninstallFrontEnd {
  /** Which kubeconfig context, when it holds several and --context was not given. */
  chooseContext(names: readonly string[]): Promise<string | undefined>;
  showPlan(plan: PlanEvent): void;
  confirm(plan: RemovalPlan): Promise<boolean>;
  startReporting(options: ReportingOptions): Reporter;
  stopReporting(): Promise<void>;
  say(line: string, outcome?: RunOutcome): void;
}

const EXIT: Partial<Record<RunOutcome, ExitCodeValue>> = {
  ok: ExitCode.ok,
  interrupted: ExitCode.interrupted,
  "cluster-access": ExitCode.clusterAccess,
};

/** Where --delete-data's final backup goes: only for an install that completed (its data is real), unless --no-backup. */
function finalBackupFile(options: UninstallOptions, state: InstallState, kube: Kube): string | undefined {
  if (!options.deleteData || options.backup?.skip || !lastSuccessfulRun(state.record)) return undefined;
  const dir = options.backup?.dir ?? snapshotDir(options.env ?? process.env, kube.contextName, state.namespace);
  return join(dir, backupFileName(state.namespace));
}

/** The final backup; a failed one stops the uninstall with nothing deleted, saying how to go on. */
function finalBackupTaken(
  kube: Kube,
  state: InstallState,
  file: string,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<boolean> {
  return backupFirst(kube, state, file, reporter, signal, {
    what: "the backup before deleting the data",
    nothingDone: "nothing was deleted",
    next: [
      "fix what the backup said and run the same command again, or give --no-backup to delete the data without one",
    ],
    total: 0,
    startedAt: Date.now(),
  });
}

const UNINSTALL_WORDS: CommandWords = { nothingDone: "nothing was deleted" };

/** Opens the cluster, shows what goes and what stays, confirms, then under the lock deletes. */
export async function runUninstall(options: UninstallOptions, fe: UninstallFrontEnd): Promise<ExitCodeValue> {
  try {
    const { kube, state } = await openCluster(options, fe);
    if (!state.namespaceExists || !state.record.answers) {
      fe.say(
        `mathison-install: ${noInstallMessage(options.namespace, kube.contextName)}; nothing was deleted`,
        "refused",
      );
      return ExitCode.notInstalled;
    }
    const plan = await planRemoval(kube, state, options.deleteData);
    const backupFile = finalBackupFile(options, state, kube);
    fe.showPlan(removalEvent(plan, kube, backupFile, state.gitops));
    if (!(await fe.confirm(plan))) {
      fe.say("Cancelled: nothing was deleted.", "cancelled");
      return ExitCode.cancelled;
    }
    return await runLocked(
      kube,
      state,
      { ...UNINSTALL_WORDS, lockTimeoutMs: options.lockTimeoutMs },
      fe,
      async ({ signal, onSignal }) => {
        const reporter = fe.startReporting({ url: "", onInterrupt: onSignal, dryRun: false });
        if (backupFile && !(await finalBackupTaken(kube, state, backupFile, reporter, signal))) {
          await fe.stopReporting();
          return signal.aborted ? ExitCode.interrupted : ExitCode.backupFailed;
        }
        if (!options.deleteData) await keepMigrationMark(kube, state);
        const outcome = await removeGroups(plan.groups, plan.namespace, kube, reporter, {
          signal,
          timeoutMs: options.timeoutMs,
          kept: keptNotes(plan),
        });
        await fe.stopReporting();
        return EXIT[outcome] ?? ExitCode.wait;
      },
    );
  } catch (err) {
    await fe.stopReporting();
    return exitOf(err, fe, UNINSTALL_WORDS);
  }
}

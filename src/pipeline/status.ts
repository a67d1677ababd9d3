import { WATCHED_KINDS } from "../facts/resources.js";
import { FIELDS, type FieldKey } from "../config/fields.js";
import { rolloutPodsOf, type NamespaceSnapshot } from "../engine/diagnose.js";
import { workloadHealth, type WorkloadHealth } from "../engine/health.js";
import { currentHolder } from "../engine/lock.js";
import type { LockHolder } from "../engine/lock-holder.js";
import { newestMigrationJob } from "../engine/migration.js";
import { jobReadinessWithPods } from "../engine/readiness.js";
import type { Kube } from "../kube/types.js";
import {
  lastSuccessfulRun,
  summarizeRecord,
  type RunEntry,
  type Verification,
  type InstalledSummary,
} from "../record/install-record.js";
import type { GitopsManaged } from "../facts/gitops.js";
import { readInstallState } from "../record/store.js";
import { parseInventoryKey, type KubeObject } from "../facts/objects.js";
import { SECRET_DATA_KEYS, type SecretKey } from "../config/secret-keys.js";
import { RECORD_NAME } from "../facts/names.js";

export interface InstallStatus {
  /** `incomplete`: no run has completed yet (a first install stopped half-way); its objects may be partly there. */
  readonly state: "installed" | "incomplete";
  readonly namespace: string;
  readonly context: string;
  readonly installed: InstalledSummary & { readonly workerImage?: string };
  readonly workloads: readonly WorkloadHealth[];
  /** The newest migration Job: `completed`, `failed: …` or its progress. */
  readonly migration?: {
    readonly object: string;
    readonly state: "completed" | "failed" | "running";
    readonly message: string;
  };
  readonly answers: readonly { readonly key: FieldKey; readonly value: string; readonly origin: "given" | "default" }[];
  /** Which secrets the install holds; never their values. */
  readonly secrets: readonly { readonly key: string; readonly set: boolean }[];
  readonly history: readonly RunEntry[];
  readonly lastVerification: Verification | null;
  /** Who holds the lock, and its lease: a holder that stopped renewing is taken over that long after the next run first sees it. */
  readonly lock: { readonly holder: LockHolder | undefined; readonly leaseSeconds: number } | null;
  /** A restore that stopped with web and worker scaled down: its backup and since when. */
  readonly restoring: { readonly file: string; readonly since: string } | null;
  /** A move of the data between the cluster's PostgreSQL and your own a run left unfinished: where to, since when. */
  readonly moving: { readonly to: "own" | "cluster"; readonly url?: string; readonly since: string } | null;
  /** A switch of Redis a run left unfinished (web stopped while the queue drains): where to, since when. */
  readonly switchingRedis: { readonly to: "own" | "cluster"; readonly url?: string; readonly since: string } | null;
  /** A POSTGRES_PASSWORD rotation a run left unfinished (the Secret holds POSTGRES_PASSWORD_NEXT). */
  readonly rotating: boolean;
  /** The GitOps controller that applies it, as the marks on its objects show: which one, seen by what. */
  readonly gitops: GitopsManaged | null;
  /** Every workload Ready, the migration not failed, and a run has completed. The last verification does not count: it is shown, not judged. */
  readonly healthy: boolean;
}

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet"]);
/** Shown only where used: a private registry's, your own databases'. */
const OPTIONAL_SECRETS: ReadonlySet<SecretKey> = new Set([
  "registryPassword",
  "dockerConfig",
  "redisPassword",
  "postgresCaCert",
  "redisCaCert",
]);
const FALLBACK_WORKLOADS = [
  "Deployment/mathison-web",
  "Deployment/mathison-worker",
  "StatefulSet/postgres",
  "StatefulSet/redis",
];

async function snapshotOf(
  kube: Kube,
  namespace: string,
): Promise<NamespaceSnapshot & { workloads: KubeObject[]; jobs: KubeObject[] }> {
  const list = async (apiVersion: string, kind: string) => (await kube.list(apiVersion, kind, namespace)).items;
  // What a run watches while it waits, read once: the same picture of the namespace.
  const lists = new Map(
    await Promise.all(WATCHED_KINDS.map(async ([apiVersion, kind]) => [kind, await list(apiVersion, kind)] as const)),
  );
  const of = (kind: string): KubeObject[] => lists.get(kind) ?? [];
  return {
    pods: of("Pod"),
    events: of("Event"),
    replicaSets: of("ReplicaSet"),
    pvcs: of("PersistentVolumeClaim"),
    workloads: [...of("Deployment"), ...of("StatefulSet")],
    jobs: of("Job"),
  };
}

function migrationOf(jobs: readonly KubeObject[], snap: NamespaceSnapshot): InstallStatus["migration"] {
  const newest = newestMigrationJob(jobs);
  if (!newest) return undefined;
  const r = jobReadinessWithPods(newest, rolloutPodsOf(newest, snap));
  const state = r.state === "ready" ? "completed" : r.state === "failed" ? "failed" : "running";
  return {
    object: `Job/${newest.metadata.name}`,
    state,
    message: r.state === "failed" ? `${r.reason}: ${r.message}` : r.message,
  };
}

/**
 * An install at a glance, from its record and one list per kind (no waits): undefined when the
 * namespace holds no Mathison install.
 */
export async function readStatus(kube: Kube, namespace: string): Promise<InstallStatus | undefined> {
  const state = await readInstallState(kube, namespace);
  const installed = summarizeRecord(state.record);
  if (!state.namespaceExists || !installed || !state.record.answers) return undefined;
  const [snap, lock] = await Promise.all([snapshotOf(kube, namespace), currentHolder(kube, namespace)]);
  const names = state.record.inventory
    .map(parseInventoryKey)
    .filter((r) => r && WORKLOAD_KINDS.has(r.kind))
    .map((r) => `${r!.kind}/${r!.name}`);
  const workloads = (names.length > 0 ? names : FALLBACK_WORKLOADS).map((object) =>
    workloadHealth(
      object,
      snap.workloads.find((w) => `${w.kind}/${w.metadata.name}` === object),
      snap,
    ),
  );
  const migration = migrationOf(snap.jobs, snap);
  const defaults = new Set(state.record.defaults ?? []);
  const lastOk = lastSuccessfulRun(state.record);
  return {
    state: lastOk ? "installed" : "incomplete",
    namespace,
    context: kube.contextName,
    installed: { ...installed, ...(lastOk ? { workerImage: lastOk.workerImage } : {}) },
    workloads,
    ...(migration ? { migration } : {}),
    answers: FIELDS.filter((f) => state.record.answers![f.key] !== undefined).map((f) => ({
      key: f.key,
      value: state.record.answers![f.key]!,
      origin: defaults.has(f.key) ? ("default" as const) : ("given" as const),
    })),
    // The registry's and your own databases' secrets only where they are used.
    secrets: (Object.entries(SECRET_DATA_KEYS) as [SecretKey, string][])
      .filter(([key]) => !OPTIONAL_SECRETS.has(key) || Boolean(state.secrets[key]))
      .map(([key, name]) => ({ key: name, set: Boolean(state.secrets[key]) })),
    history: state.record.history,
    lastVerification: state.record.verification ?? null,
    lock: lock ? { holder: lock.holder, leaseSeconds: lock.leaseSeconds } : null,
    restoring: state.record.restoring
      ? { file: state.record.restoring.file, since: state.record.restoring.since }
      : null,
    moving: state.record.moving
      ? {
          to: state.record.moving.to,
          ...(state.record.moving.url ? { url: state.record.moving.url } : {}),
          since: state.record.moving.since,
        }
      : null,
    switchingRedis: state.record.switchingRedis ?? null,
    rotating: state.pendingPassword !== undefined,
    gitops: state.gitops ?? null,
    healthy:
      lastOk !== undefined &&
      !state.record.restoring &&
      !state.record.moving &&
      !state.record.switchingRedis &&
      state.pendingPassword === undefined &&
      workloads.every((w) => w.state === "Ready") &&
      migration?.state !== "failed",
  };
}

/**
 * Every install the credentials can see, as `helm list -A` shows releases: the namespaces that
 * hold an install record (one list of ConfigMaps across the cluster, by name), each read as
 * `readStatus` reads one, sorted by namespace.
 */
export async function readAllStatuses(kube: Kube): Promise<InstallStatus[]> {
  const records = await kube.list("v1", "ConfigMap", undefined, {
    fieldSelector: `metadata.name=${RECORD_NAME}`,
    project: (cm) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: cm.metadata.name, namespace: cm.metadata.namespace },
    }),
  });
  const namespaces = [...new Set(records.items.map((cm) => cm.metadata.namespace!))].sort();
  const statuses = await Promise.all(namespaces.map((ns) => readStatus(kube, ns)));
  return statuses.filter((s): s is InstallStatus => s !== undefined);
}

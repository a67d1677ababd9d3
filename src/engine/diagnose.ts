import { type KubeObject, typed } from "../facts/objects.js";
import { containerDiagnosis, type Diagnosis } from "./diagnose-container.js";

export type { Diagnosis } from "./diagnose-container.js";

/** What the engine knows of the namespace, from its watches. */
export interface NamespaceSnapshot {
  readonly pods: readonly KubeObject[];
  readonly events: readonly KubeObject[];
  readonly replicaSets: readonly KubeObject[];
  readonly pvcs: readonly KubeObject[];
}

const ownedBy = (obj: KubeObject, uids: ReadonlySet<string>): boolean =>
  (obj.metadata.ownerReferences ?? []).some((o) => uids.has(o.uid));

/**
 * The pods of the rollout in progress: a Deployment's newest ReplicaSet, a StatefulSet's update
 * revision, a Job's own. Pods being replaced are not the rollout's: a crash-looping old version
 * must not fail the upgrade that fixes it.
 */
export function rolloutPodsOf(workload: KubeObject, snap: NamespaceSnapshot): KubeObject[] {
  const uid = workload.metadata.uid;
  if (!uid) return [];
  const owned = (owners: ReadonlySet<string>) => snap.pods.filter((p) => ownedBy(p, owners));
  // Until the controller has observed the new spec, the newest pods are still the old version's
  // (a Job's pod template is immutable: it has no observedGeneration and needs none).
  const generation = workload.metadata.generation;
  const rolling = workload.kind === "Deployment" || workload.kind === "StatefulSet";
  if (
    rolling &&
    generation !== undefined &&
    (typed(workload, "Deployment").status?.observedGeneration ?? 0) < generation
  )
    return [];
  if (workload.kind === "Deployment") {
    // The ReplicaSet of the Deployment's current revision; none yet in the snapshot means none yet to blame.
    const sets = snap.replicaSets.filter((rs) => ownedBy(rs, new Set([uid])));
    const revision = workload.metadata.annotations?.["deployment.kubernetes.io/revision"];
    const current = revision
      ? sets.find((rs) => rs.metadata.annotations?.["deployment.kubernetes.io/revision"] === revision)
      : newestReplicaSet(sets);
    return current ? owned(new Set([current.metadata.uid ?? ""])) : [];
  }
  const pods = owned(new Set([uid]));
  const revision = typed(workload, "StatefulSet").status?.updateRevision;
  if (workload.kind === "StatefulSet" && revision)
    return pods.filter((p) => p.metadata.labels?.["controller-revision-hash"] === revision);
  return pods;
}

function revisionOf(rs: KubeObject): number {
  return Number(rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? 0);
}

function newestReplicaSet(sets: readonly KubeObject[]): KubeObject | undefined {
  return [...sets].sort((a, b) => revisionOf(b) - revisionOf(a))[0];
}

function eventTime(e: KubeObject): number {
  const ev = typed(e, "Event");
  const t = ev.lastTimestamp ?? ev.eventTime ?? ev.metadata.creationTimestamp;
  return t ? Date.parse(t) : 0;
}

/** Warning events about the workload, its ReplicaSets, pods and claims, newest first. */
export function warningsFor(workload: KubeObject, snap: NamespaceSnapshot, sinceMs: number): KubeObject[] {
  const uid = workload.metadata.uid;
  const names = new Set<string>([`${workload.kind}/${workload.metadata.name}`]);
  const replicaSets =
    workload.kind === "Deployment" && uid ? snap.replicaSets.filter((rs) => ownedBy(rs, new Set([uid]))) : [];
  const newest = newestReplicaSet(replicaSets);
  if (newest) names.add(`ReplicaSet/${newest.metadata.name}`);
  const pods = rolloutPodsOf(workload, snap);
  for (const p of pods) names.add(`Pod/${p.metadata.name}`);
  for (const claim of claimsOf(workload, pods)) names.add(`PersistentVolumeClaim/${claim}`);
  return snap.events
    .filter(
      (e) =>
        e.type === "Warning" &&
        names.has(`${e.involvedObject?.kind}/${e.involvedObject?.name}`) &&
        eventTime(e) >= sinceMs - 1000,
    )
    .sort((a, b) => eventTime(b) - eventTime(a));
}

function claimsOf(workload: KubeObject, pods: readonly KubeObject[]): string[] {
  const claims = pods.flatMap((p) =>
    (typed(p, "Pod").spec?.volumes ?? [])
      .map((v) => v.persistentVolumeClaim?.claimName)
      .filter((c): c is string => !!c),
  );
  if (workload.kind === "StatefulSet") {
    const set = typed(workload, "StatefulSet");
    const replicas = set.spec?.replicas ?? 1;
    for (const t of set.spec?.volumeClaimTemplates ?? []) {
      for (let i = 0; i < replicas; i++) claims.push(`${t.metadata?.name}-${workload.metadata.name}-${i}`);
    }
  }
  return claims;
}

const UNBOUND_CLAIM = /unbound immediate PersistentVolumeClaims/;
function waitingForVolume(message: string): Diagnosis {
  return {
    reason: "WaitingForVolume",
    message,
    hint: "its PersistentVolumeClaim is not bound yet: kubectl get pvc shows why (a StorageClass that cannot provision, or no default class)",
    fatal: false,
  };
}

/** The most telling reason a workload is not ready, or undefined when it is simply progressing. */
export function diagnose(workload: KubeObject, snap: NamespaceSnapshot, sinceMs: number): Diagnosis | undefined {
  const warnings = warningsFor(workload, snap, sinceMs);
  const pods = rolloutPodsOf(workload, snap);
  return (
    refusedCreate(warnings) ??
    firstOf(pods, containerDiagnosis) ??
    // A claim that cannot bind says more than the scheduler's "unbound PersistentVolumeClaims".
    pendingClaim(workload, pods, snap, warnings) ??
    firstOf(pods, unschedulable) ??
    fromEvents(warnings)
  );
}

function firstOf<T>(items: readonly T[], diagnosisOf: (item: T) => Diagnosis | undefined): Diagnosis | undefined {
  for (const item of items) {
    const d = diagnosisOf(item);
    if (d) return d;
  }
  return undefined;
}

type Warning = ReturnType<typeof warningsFor>[number];

/** The API server refused the pods: a Pod Security level or a quota (fatal: waiting will not help). */
function refusedCreate(warnings: readonly Warning[]): Diagnosis | undefined {
  const failedCreate = warnings.find((e) => e.reason === "FailedCreate");
  if (!failedCreate) return undefined;
  const msg = failedCreate.message as string;
  if (/violates PodSecurity/.test(msg))
    return {
      reason: "FailedCreate",
      message: msg,
      hint: "the pod template breaks the namespace's Pod Security level: its securityContext must meet the restricted profile",
      fatal: true,
    };
  if (/exceeded quota|forbidden/.test(msg))
    return {
      reason: "FailedCreate",
      message: msg,
      hint: /quota/.test(msg)
        ? "a ResourceQuota in the namespace is used up: kubectl describe resourcequota, then raise it or free capacity"
        : "the API server refused to create the pods: the message says which policy",
      fatal: true,
    };
  return undefined;
}

function pendingClaim(
  workload: KubeObject,
  pods: readonly KubeObject[],
  snap: NamespaceSnapshot,
  warnings: readonly Warning[],
): Diagnosis | undefined {
  const claims = claimsOf(workload, pods);
  const claim = snap.pvcs.find((c) => c.status?.phase === "Pending" && claims.includes(c.metadata.name));
  if (!claim) return undefined;
  const why = warnings.find(
    (e) => e.involvedObject?.kind === "PersistentVolumeClaim" && e.involvedObject?.name === claim.metadata.name,
  );
  return {
    reason: (why?.reason as string | undefined) ?? "ClaimPending",
    message: `PersistentVolumeClaim ${claim.metadata.name} is Pending${why ? `: ${why.message}` : ""}`,
    hint: why
      ? "its StorageClass cannot provision it: pass --storage-class with a class that exists (kubectl get storageclass), or mark one default"
      : "it waits for a volume: provisioning can take a while; kubectl describe pvc shows progress",
    fatal: false,
  };
}

function unschedulable(pod: KubeObject): Diagnosis | undefined {
  const scheduled = typed(pod, "Pod").status?.conditions?.find((c) => c.type === "PodScheduled");
  if (scheduled?.status !== "False" || scheduled.reason !== "Unschedulable") return undefined;
  if (UNBOUND_CLAIM.test(scheduled.message ?? ""))
    return waitingForVolume(`pod ${pod.metadata.name}: ${scheduled.message}`);
  return {
    reason: "FailedScheduling",
    message: `pod ${pod.metadata.name}: ${scheduled.message ?? "no node can run it"}`,
    hint: "no node fits the pod: kubectl describe nodes shows free capacity; lower its requests, add nodes, or fix the taints and selectors it names",
    fatal: false,
    pod: pod.metadata.name,
  };
}

/** What the workload's warning events say when its pods do not: scheduling, mounts, probes. */
function fromEvents(warnings: readonly Warning[]): Diagnosis | undefined {
  const scheduling = warnings.find((e) => e.reason === "FailedScheduling");
  if (scheduling && UNBOUND_CLAIM.test(scheduling.message as string))
    return waitingForVolume(scheduling.message as string);
  if (scheduling)
    return {
      reason: "FailedScheduling",
      message: scheduling.message as string,
      hint: "no node fits the pod: kubectl describe nodes shows free capacity",
      fatal: false,
    };
  const mount = warnings.find((e) => e.reason === "FailedMount" || e.reason === "FailedAttachVolume");
  if (mount)
    return {
      reason: mount.reason as string,
      message: mount.message as string,
      hint: "a volume cannot be mounted: check the PersistentVolumeClaim and the Secret or ConfigMap it names",
      fatal: false,
    };
  const unhealthy = warnings.find((e) => e.reason === "Unhealthy");
  if (unhealthy)
    return {
      reason: "Unhealthy",
      message: `${unhealthy.involvedObject?.name}: ${unhealthy.message}`,
      hint: "the container runs but fails its probe: its log says why",
      fatal: false,
      pod: unhealthy.involvedObject?.name as string,
    };
  return undefined;
}

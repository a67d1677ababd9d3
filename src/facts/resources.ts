/**
 * The built-in kinds the installer touches, with their resource names and scope: fixed by the
 * Kubernetes API itself, so they need no discovery request (kubectl caches the same on disk).
 * Any other kind (a CRD's) is discovered.
 */
const NAMESPACED = true;
const CLUSTER = false;

export const BUILTIN_RESOURCES: ReadonlyMap<string, { readonly plural: string; readonly namespaced: boolean }> =
  new Map(
    (
      [
        ["v1", "Namespace", "namespaces", CLUSTER],
        ["v1", "Node", "nodes", CLUSTER],
        ["v1", "PersistentVolume", "persistentvolumes", CLUSTER],
        ["v1", "ServiceAccount", "serviceaccounts", NAMESPACED],
        ["v1", "ConfigMap", "configmaps", NAMESPACED],
        ["v1", "Secret", "secrets", NAMESPACED],
        ["v1", "Service", "services", NAMESPACED],
        ["v1", "Pod", "pods", NAMESPACED],
        ["v1", "Event", "events", NAMESPACED],
        ["v1", "PersistentVolumeClaim", "persistentvolumeclaims", NAMESPACED],
        ["v1", "ResourceQuota", "resourcequotas", NAMESPACED],
        ["v1", "LimitRange", "limitranges", NAMESPACED],
        ["v1", "Endpoints", "endpoints", NAMESPACED],
        ["apps/v1", "Deployment", "deployments", NAMESPACED],
        ["apps/v1", "StatefulSet", "statefulsets", NAMESPACED],
        ["apps/v1", "ReplicaSet", "replicasets", NAMESPACED],
        ["apps/v1", "DaemonSet", "daemonsets", NAMESPACED],
        ["batch/v1", "Job", "jobs", NAMESPACED],
        ["networking.k8s.io/v1", "Ingress", "ingresses", NAMESPACED],
        ["networking.k8s.io/v1", "IngressClass", "ingressclasses", CLUSTER],
        ["networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", NAMESPACED],
        ["policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", NAMESPACED],
        ["autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", NAMESPACED],
        ["apiregistration.k8s.io/v1", "APIService", "apiservices", CLUSTER],
        ["rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", CLUSTER],
        ["rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", CLUSTER],
        ["rbac.authorization.k8s.io/v1", "Role", "roles", NAMESPACED],
        ["rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", NAMESPACED],
        ["coordination.k8s.io/v1", "Lease", "leases", NAMESPACED],
        ["discovery.k8s.io/v1", "EndpointSlice", "endpointslices", NAMESPACED],
        ["storage.k8s.io/v1", "StorageClass", "storageclasses", CLUSTER],
        ["apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", CLUSTER],
        ["authorization.k8s.io/v1", "SubjectAccessReview", "subjectaccessreviews", CLUSTER],
      ] as const
    ).map(([apiVersion, kind, plural, namespaced]) => [`${apiVersion}/${kind}`, { plural, namespaced }]),
  );

/** A built-in kind's API group (`""` for the core group), resource name and scope, by kind alone. */
export function resourceOfKind(
  kind: string,
): { readonly group: string; readonly plural: string; readonly namespaced: boolean } | undefined {
  for (const [key, r] of BUILTIN_RESOURCES) {
    const at = key.lastIndexOf("/");
    if (key.slice(at + 1) !== kind) continue;
    const apiVersion = key.slice(0, at);
    return { group: apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "", ...r };
  }
  return undefined;
}

/** What a run watches in the install's namespace while it waits (and `status` lists): workloads, their pods, ReplicaSets, claims and events. */
export const WATCHED_KINDS: readonly (readonly [apiVersion: string, kind: string])[] = [
  ["v1", "Pod"],
  ["v1", "Event"],
  ["v1", "PersistentVolumeClaim"],
  ["apps/v1", "ReplicaSet"],
  ["apps/v1", "Deployment"],
  ["apps/v1", "StatefulSet"],
  ["batch/v1", "Job"],
];

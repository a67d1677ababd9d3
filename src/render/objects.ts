/** A Kubernetes object as plain data: what manifests/ parse into and what the engine applies. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  // Everything below metadata is kind-specific; render reaches into it by known paths.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
}

const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass", "IngressClass", "PersistentVolume"]);

export function isNamespaced(obj: Pick<KubeObject, "kind">): boolean {
  return !CLUSTER_SCOPED.has(obj.kind);
}

/** `Deployment/mathison-web`: how objects are named in output and events. */
export function objectRef(obj: Pick<KubeObject, "kind" | "metadata">): string {
  return `${obj.kind}/${obj.metadata.name}`;
}

/** Pod template annotation with a digest of the config and secrets: a change rolls web and worker out. */
export const CONFIG_DIGEST_ANNOTATION = "mathison.dev/config-digest";

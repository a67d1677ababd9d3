import type { Kube } from "../kube/types.js";

/** What the cluster already offers, so questions can be choices rather than guesses. */
export interface ClusterFacts {
  readonly ingressClasses: readonly { readonly name: string; readonly isDefault: boolean }[];
  /** cert-manager ClusterIssuers; empty when cert-manager is not installed. */
  readonly clusterIssuers: readonly string[];
  /** Secrets of type kubernetes.io/tls in the install's namespace. */
  readonly tlsSecrets: readonly string[];
}

async function names(
  kube: Kube,
  apiVersion: string,
  kind: string,
  namespace?: string,
): Promise<{ name: string; obj: Record<string, any> }[]> {
  try {
    const { items } = await kube.list(apiVersion, kind, namespace);
    return items.map((o) => ({ name: o.metadata.name, obj: o }));
  } catch {
    // Not installed (no such API), or not visible to these credentials: nothing to offer.
    return [];
  }
}

export async function discoverClusterFacts(kube: Kube, namespace: string): Promise<ClusterFacts> {
  const [classes, issuers, secrets] = await Promise.all([
    names(kube, "networking.k8s.io/v1", "IngressClass"),
    names(kube, "cert-manager.io/v1", "ClusterIssuer"),
    names(kube, "v1", "Secret", namespace),
  ]);
  return {
    ingressClasses: classes.map(({ name, obj }) => ({
      name,
      isDefault: obj.metadata?.annotations?.["ingressclass.kubernetes.io/is-default-class"] === "true",
    })),
    clusterIssuers: issuers.map((i) => i.name),
    tlsSecrets: secrets.filter((s) => s.obj.type === "kubernetes.io/tls").map((s) => s.name),
  };
}

// Kubernetes objects as the whole installer sees them: plain data, references, and the keys the
// install record lists them by. The bottom layer: it imports nothing of ours.
import { BUILTIN_RESOURCES } from "./resources.js";

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
  // Everything below metadata is kind-specific; code reaches into it by known paths.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
}

/** Which object: enough to read, patch or delete it. */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string | undefined;
}

export function refOf(obj: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): ObjectRef {
  return { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace };
}

/** `Deployment/mathison-web`: how objects are named in output and events, from an object or a reference. */
export function objectRef(
  x: { readonly kind: string } & ({ readonly metadata: { readonly name: string } } | { readonly name: string }),
): string {
  return `${x.kind}/${"metadata" in x ? x.metadata.name : x.name}`;
}

/** Whether a kind lives in a namespace (the built-in kinds' scope; an unknown kind is taken as namespaced). */
export function isNamespaced(obj: Pick<KubeObject, "kind">): boolean {
  for (const [key, r] of BUILTIN_RESOURCES) if (key.endsWith(`/${obj.kind}`)) return r.namespaced;
  return true;
}

/** `apps/v1 Deployment ns/name`: how the install record lists what a run applied. */
export function inventoryKey(obj: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): string {
  const ns = obj.metadata.namespace;
  return `${obj.apiVersion} ${obj.kind} ${ns ? `${ns}/` : ""}${obj.metadata.name}`;
}

export function parseInventoryKey(
  key: string,
): { apiVersion: string; kind: string; name: string; namespace?: string } | undefined {
  const m = /^(\S+) (\S+) (?:([^/\s]+)\/)?(\S+)$/.exec(key);
  if (!m) return undefined;
  return { apiVersion: m[1]!, kind: m[2]!, name: m[4]!, ...(m[3] ? { namespace: m[3] } : {}) };
}

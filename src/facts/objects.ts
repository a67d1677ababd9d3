// Kubernetes objects as the whole installer sees them: plain data, references, and the keys the
// install record lists them by. The bottom layer: it imports nothing of ours.
import type * as apps from "kubernetes-types/apps/v1.js";
import type * as batch from "kubernetes-types/batch/v1.js";
import type * as coordination from "kubernetes-types/coordination/v1.js";
import type * as core from "kubernetes-types/core/v1.js";
import type * as discovery from "kubernetes-types/discovery/v1.js";
import type { ObjectMeta } from "kubernetes-types/meta/v1.js";
import type * as networking from "kubernetes-types/networking/v1.js";
import type * as rbac from "kubernetes-types/rbac/v1.js";
import type * as storage from "kubernetes-types/storage/v1.js";
import { BUILTIN_RESOURCES } from "./resources.js";

/**
 * A Kubernetes object as plain data: what manifests/ parse into and what the engine applies. Its
 * metadata is typed as the API defines it (the name always set); what lies below is per kind:
 * `typed(obj, "Deployment")` gives the API's type of a kind the installer reads by field.
 */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: Writable<ObjectMeta> & { name: string };
  // Kind-specific fields: read through `typed()` where the code depends on them.
  [key: string]: any;
}

/** kubernetes-types' fields are read-only; the installer builds and stamps its objects' metadata. */
type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** The kinds the installer reads field by field, as kubernetes-types has them (type-only: nothing at run time). */
export interface KindTypes {
  ClusterRole: rbac.ClusterRole;
  ConfigMap: core.ConfigMap;
  Deployment: apps.Deployment;
  EndpointSlice: discovery.EndpointSlice;
  Event: core.Event;
  Ingress: networking.Ingress;
  IngressClass: networking.IngressClass;
  Job: batch.Job;
  Lease: coordination.Lease;
  LimitRange: core.LimitRange;
  Node: core.Node;
  PersistentVolume: core.PersistentVolume;
  PersistentVolumeClaim: core.PersistentVolumeClaim;
  Pod: core.Pod;
  ReplicaSet: apps.ReplicaSet;
  ResourceQuota: core.ResourceQuota;
  Secret: core.Secret;
  StatefulSet: apps.StatefulSet;
  StorageClass: storage.StorageClass;
}

/** An object of a known kind with the API's types below its metadata. */
export type Typed<K extends keyof KindTypes> = Omit<KindTypes[K], "metadata" | "kind" | "apiVersion"> & {
  apiVersion: string;
  kind: K;
  metadata: KubeObject["metadata"];
};

/** The object as the API types its kind: the one place the plain data is taken at its word. */
export function typed<K extends keyof KindTypes>(obj: KubeObject, _kind: K): Typed<K> {
  return obj as unknown as Typed<K>;
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

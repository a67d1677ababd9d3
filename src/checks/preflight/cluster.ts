import type { CheckResult } from "../types.js";
import type { PreflightCheck } from "./context.js";
import { FIELD_MANAGER_NAME } from "../../facts/names.js";
import type { KubeObject } from "../../facts/objects.js";

/** Pod Security admission (the namespace's `restricted` label) is GA from 1.25. */
export const MIN_MINOR = 25;
const SYSTEM_NAMESPACES = new Set(["default", "kube-system", "kube-public", "kube-node-lease"]);

export const versionCheck: PreflightCheck = {
  id: "version",
  group: "Cluster",
  title: "Kubernetes version",
  needs: ["cluster"],
  // The server's version: what every run reads.
  reads: () => [],
  async run({ kube }): Promise<CheckResult> {
    const v = await kube.serverVersion();
    const minor = Number.parseInt(v.minor, 10);
    if (v.major !== "1" || Number.isNaN(minor))
      return {
        status: "warn",
        message: `unrecognised version ${v.gitVersion}`,
        hint: `the manifests need Kubernetes 1.${MIN_MINOR} or newer`,
      };
    if (minor < MIN_MINOR)
      return {
        status: "fail",
        message: `Kubernetes ${v.gitVersion} is older than 1.${MIN_MINOR}: the namespace's Pod Security labels would not be enforced`,
        hint: `upgrade the cluster to 1.${MIN_MINOR} or newer`,
      };
    return { status: "pass", message: `Kubernetes ${v.gitVersion}` };
  },
};

/**
 * The install labels its namespace Pod Security `restricted` and denies ingress by default: safe
 * only in a namespace of its own. System namespaces and namespaces running other workloads are
 * refused unless --force-namespace.
 */
export const namespaceCheck: PreflightCheck = {
  id: "namespace",
  group: "Cluster",
  title: "Namespace",
  needs: ["cluster"],
  // The namespace and its pods: what the run reads.
  reads: () => [],
  async run({ kube, config, state, forceNamespace }): Promise<CheckResult> {
    const ns = config.namespace;
    const hint = `install into a namespace of its own (--namespace), or pass --force-namespace to take ${ns} over anyway`;
    const why = "the install enforces Pod Security restricted and a default-deny NetworkPolicy on its namespace";
    if (SYSTEM_NAMESPACES.has(ns))
      return { status: forceNamespace ? "warn" : "fail", message: `${ns} is a system namespace: ${why}`, hint };
    if (!state.namespaceExists) return { status: "pass", message: `${ns} is created for the install` };
    const pods = (await kube.list("v1", "Pod", ns)).items.filter(
      (p) => p.metadata.labels?.["app.kubernetes.io/part-of"] !== "mathison",
    );
    if (pods.length === 0) return { status: "pass", message: `${ns} holds no other workloads` };
    const names = pods
      .slice(0, 5)
      .map((p) => p.metadata.name)
      .join(", ");
    return {
      status: forceNamespace ? "warn" : "fail",
      message: `${ns} runs ${pods.length} other ${pods.length === 1 ? "pod" : "pods"} (${names}${pods.length > 5 ? ", …" : ""}): ${why}, which they may break`,
      hint,
    };
  },
};

/** Managers whose entries are not someone else's edits: this installer, and status written by controllers. */
function otherManagers(obj: KubeObject): string[] {
  const entries = obj.metadata.managedFields ?? [];
  return [
    ...new Set(
      entries
        .filter((e) => e.manager && e.manager !== FIELD_MANAGER_NAME && e.subresource !== "status")
        .map((e) => e.manager!),
    ),
  ];
}

/** One clause per manager, with how many objects and the first few: `kubectl on 22 objects (ConfigMap/a, …, and 19 more)`. */
export function byManager(owned: readonly { object: string; managers: readonly string[] }[]): string[] {
  const objects = new Map<string, string[]>();
  for (const o of owned) for (const m of o.managers) objects.set(m, [...(objects.get(m) ?? []), o.object]);
  return [...objects].map(([manager, list]) => {
    const shown = list.slice(0, 3).join(", ");
    const more = list.length > 3 ? `, and ${list.length - 3} more` : "";
    return `${manager} on ${list.length} ${list.length === 1 ? "object" : "objects"} (${shown}${more})`;
  });
}

/** Objects of the plan that exist and carry fields another field manager set: the plan then says which it takes back. */
export const ownershipCheck: PreflightCheck = {
  id: "ownership",
  group: "Cluster",
  title: "Field ownership",
  needs: ["cluster"],
  // The plan's objects, as the dry run reads them.
  reads: () => [],
  async run({ kube, rendered, state }): Promise<CheckResult> {
    if (!state.namespaceExists) return { status: "pass", message: "a new namespace: nothing of the plan exists yet" };
    const objects = rendered.stages.flatMap((s) => s.objects);
    const live = await Promise.all(
      objects.map((o) =>
        kube.get({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace }),
      ),
    );
    const owned = live
      .flatMap((obj) => (obj ? [{ object: `${obj.kind}/${obj.metadata.name}`, managers: otherManagers(obj) }] : []))
      .filter((o) => o.managers.length > 0);
    if (owned.length === 0)
      return {
        status: "pass",
        message: `no other field manager edits the ${live.filter(Boolean).length} existing objects of the plan`,
      };
    return {
      status: "warn",
      message: `edited by other field managers: ${byManager(owned).join("; ")}`,
      hint: "the plan below names each field this run takes back; a web replica count owned by another manager (an autoscaler, kubectl scale) is left alone",
    };
  },
};

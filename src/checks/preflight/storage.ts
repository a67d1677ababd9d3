import { ask } from "./access.js";
import { CLAIM_NAMES } from "../../facts/names.js";
import type { CheckResult } from "../types.js";
import type { PreflightCheck } from "./context.js";
import type { KubeObject } from "../../facts/objects.js";

const DEFAULT_ANNOTATIONS = [
  "storageclass.kubernetes.io/is-default-class",
  "storageclass.beta.kubernetes.io/is-default-class",
];

function describeClass(sc: KubeObject): string {
  return `${sc.metadata.name} (provisioner ${sc.provisioner}, binding ${sc.volumeBindingMode ?? "Immediate"})`;
}

/** The claims' StorageClass exists, or the cluster has a default one; a kept claim of an earlier install is named. */
export const storageCheck: PreflightCheck = {
  id: "storage",
  group: "Storage",
  title: "Storage",
  needs: ["cluster"],
  reads: (ctx) => [ask("StorageClass", "list", undefined), ask("PersistentVolumeClaim", "get", ctx.rendered.namespace)],
  async run({ kube, config, state }): Promise<CheckResult> {
    const claims = CLAIM_NAMES;
    const [classes, existing] = await Promise.all([
      kube.list("storage.k8s.io/v1", "StorageClass", undefined),
      state.namespaceExists
        ? Promise.all(
            claims.map((name) =>
              kube.get({ apiVersion: "v1", kind: "PersistentVolumeClaim", name, namespace: config.namespace }),
            ),
          )
        : Promise.resolve([]),
    ]);
    const kept = existing.filter((c): c is KubeObject => c !== undefined);
    const keptNote =
      kept.length > 0
        ? `; existing claims ${kept.map((c) => c.metadata.name).join(", ")} are reused: their data is kept`
        : "";
    const names = classes.items.map((c) => c.metadata.name).join(", ") || "none";
    if (config.storageClass) {
      const sc = classes.items.find((c) => c.metadata.name === config.storageClass);
      if (!sc)
        return {
          status: "fail",
          message: `StorageClass ${config.storageClass} does not exist (the cluster has: ${names})`,
          hint: "pass --storage-class with one of those (kubectl get storageclass)",
        };
      return { status: "pass", message: `StorageClass ${describeClass(sc)}${keptNote}` };
    }
    if (kept.length === claims.length)
      return {
        status: "pass",
        message: `no StorageClass chosen; the existing claims ${kept.map((c) => c.metadata.name).join(", ")} are reused: their data is kept`,
      };
    const defaults = classes.items.filter((c) =>
      DEFAULT_ANNOTATIONS.some((a) => c.metadata.annotations?.[a] === "true"),
    );
    if (defaults.length === 0) {
      return {
        status: "fail",
        message: `the claims name no StorageClass and the cluster has no default one (classes: ${names}): PostgreSQL's and Redis's volumes would stay Pending`,
        hint: 'pass --storage-class with a class that exists, or mark one default: kubectl patch storageclass NAME -p \'{"metadata":{"annotations":{"storageclass.kubernetes.io/is-default-class":"true"}}}\'',
      };
    }
    return { status: "pass", message: `the default StorageClass ${describeClass(defaults[0]!)}${keptNote}` };
  },
};

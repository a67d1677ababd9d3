import { imagesOf } from "../../render/render.js";
import { coveredHosts, registryHost } from "../../render/registry.js";
import type { CheckResult } from "../types.js";
import type { PreflightCheck } from "./context.js";

/** The pull secret the pods will use exists and has credentials for every registry the images come from. */
export const registryCheck: PreflightCheck = {
  id: "registry",
  group: "Images",
  title: "Registry credentials",
  needs: ["cluster"],
  // The plan's pull Secret, which the run reads.
  reads: () => [],
  async run({ kube, rendered, config, state }): Promise<CheckResult> {
    const hosts = [...new Set(imagesOf(rendered).map(registryHost))];
    const auth = config.registryAuth;
    if (!auth)
      return { status: "pass", message: `no pull secret: the images are pulled anonymously from ${hosts.join(", ")}` };
    const secret =
      auth.kind === "existing"
        ? state.namespaceExists
          ? await kube.get({ apiVersion: "v1", kind: "Secret", name: auth.secretName, namespace: config.namespace })
          : undefined
        : rendered.stages
            .flatMap((s) => s.objects)
            .find((o) => o.kind === "Secret" && o.type === "kubernetes.io/dockerconfigjson");
    const name = auth.kind === "existing" ? auth.secretName : "mathison-registry";
    const create = `kubectl -n ${config.namespace} create secret docker-registry ${name} --docker-server=${hosts[0]} --docker-username=USER --docker-password=TOKEN`;
    if (!secret)
      return {
        status: "fail",
        message: `Secret ${config.namespace}/${name} does not exist (--image-pull-secret)`,
        hint: `${create}; or give --registry-username and --registry-password-file`,
      };
    if (secret.type !== "kubernetes.io/dockerconfigjson") {
      return {
        status: "fail",
        message: `Secret ${name} is of type ${secret.type}, not kubernetes.io/dockerconfigjson`,
        hint: create,
      };
    }
    const covered = coveredHosts(secret);
    const missing = hosts.filter((h) => !covered.includes(h));
    if (missing.length > 0) {
      return {
        status: auth.kind === "existing" ? "fail" : "warn",
        message: `Secret ${name} has no credentials for ${missing.join(", ")} (it has: ${covered.join(", ") || "none"}): pulls from there are anonymous`,
        hint: auth.kind === "docker-config" ? `docker login ${missing[0]}, then give --docker-config again` : create,
      };
    }
    return { status: "pass", message: `Secret ${name} has credentials for ${hosts.join(", ")}` };
  },
};

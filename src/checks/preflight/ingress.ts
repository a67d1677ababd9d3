import { ask } from "./access.js";
import { KubeApiError } from "../../kube/types.js";
import type { Condition as StatusCondition } from "kubernetes-types/meta/v1.js";
import type { CheckResult } from "../types.js";
import type { PreflightCheck, PreflightContext } from "./context.js";
import { type KubeObject, typed } from "../../facts/objects.js";

const DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class";

export const ingressClassCheck: PreflightCheck = {
  id: "ingress-class",
  group: "Ingress and TLS",
  title: "IngressClass",
  needs: ["cluster"],
  // The classes, and the controllers' pods in any namespace.
  reads: () => [ask("IngressClass", "list", undefined), ask("Pod", "list", undefined)],
  async run({ kube, config }): Promise<CheckResult> {
    // What says whether a controller serves the class is asked at once, beside the classes: one round trip, not three.
    const [list, served] = await Promise.all([
      kube.list("networking.k8s.io/v1", "IngressClass", undefined),
      whetherServed(kube, config.ingressClass, (c) => (c ? typed(c, "IngressClass").spec?.controller : undefined)),
    ]);
    const classes = list.items;
    const chosen = classes.find((c) => c.metadata.name === config.ingressClass);
    if (!chosen) {
      return {
        status: "warn",
        message: `IngressClass ${config.ingressClass} does not exist (the cluster has: ${classes.map((c) => c.metadata.name).join(", ") || "none"}): the web UI is unreachable until a controller serves it`,
        hint: "install an ingress controller (e.g. ingress-nginx), or pass --ingress-class with an existing class",
      };
    }
    const isDefault = chosen.metadata.annotations?.[DEFAULT_CLASS] === "true";
    const named = `IngressClass ${chosen.metadata.name} (controller ${chosen.spec?.controller}${isDefault ? ", the cluster default" : ""})`;
    const verdict = served(chosen);
    if (verdict.served === false) {
      return {
        status: "warn",
        message: `${verdict.why}: the web UI is unreachable until a controller serves class ${chosen.metadata.name}`,
        hint: verdict.hint,
      };
    }
    return { status: "pass", message: verdict.why ? `${named}; ${verdict.why}` : named };
  },
};

/** The label each of these controllers' charts put on its pods, with the value in CONTROLLER_PODS. */
const NAME_LABEL = "app.kubernetes.io/name";

/** Pods of the controllers that say how they label them, by the IngressClass's `spec.controller`. */
const CONTROLLER_PODS: Readonly<
  Record<string, { readonly name: string; readonly label: string; readonly install: string }>
> = {
  "k8s.io/ingress-nginx": {
    name: "ingress-nginx",
    label: "ingress-nginx",
    install:
      "helm repo add ingress-nginx https://kubernetes.github.io/ingress-nginx\nhelm install ingress-nginx ingress-nginx/ingress-nginx",
  },
  "traefik.io/ingress-controller": {
    name: "Traefik",
    label: "traefik",
    install: "install Traefik (k3s ships it; or its Helm chart)",
  },
  "haproxy.org/ingress-controller/haproxy": {
    name: "HAProxy Ingress",
    label: "kubernetes-ingress",
    install: "install the HAProxy kubernetes-ingress controller",
  },
};

/**
 * Whether a running controller serves the class, as far as the cluster shows it: ready pods of a
 * controller that labels them as documented say yes, and so does an Ingress of the class that got
 * an address; a known controller without ready pods, or Ingresses of the class none of which got
 * an address, say no. Unknown (`served` undefined) when the cluster cannot tell or may not be read.
 */
async function whetherServed(
  kube: PreflightContext["kube"],
  className: string,
  controllerOf: (cls: KubeObject | undefined) => string | undefined,
): Promise<(cls: KubeObject) => Served> {
  // Every known controller's pods (their selectors), and the Ingresses, are read before the class's controller is known.
  const selector = `${NAME_LABEL} in (${Object.values(CONTROLLER_PODS)
    .map((c) => c.label)
    .join(",")})`;
  let pods: KubeObject[];
  let ingresses: KubeObject[];
  try {
    [pods, ingresses] = await Promise.all([
      kube.list("v1", "Pod", undefined, { labelSelector: selector }).then((l) => l.items),
      kube
        .list("networking.k8s.io/v1", "Ingress", undefined)
        .then((l) => l.items.filter((i) => i.spec?.ingressClassName === className)),
    ]);
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 403) return () => ({});
    throw err;
  }
  return (cls) => servedBy(controllerOf(cls), pods, ingresses);
}

type Served = { served?: boolean; why?: string; hint?: string };

function servedBy(
  controller: string | undefined,
  allPods: readonly KubeObject[],
  ingresses: readonly KubeObject[],
): Served {
  const known = controller ? CONTROLLER_PODS[controller] : undefined;
  const pods = known ? allPods.filter((p) => p.metadata.labels?.[NAME_LABEL] === known.label) : [];
  const ready = pods.filter((p) =>
    typed(p, "Pod").status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
  );
  if (known && ready.length > 0)
    return {
      served: true,
      why: `${ready.length} ready ${known.name} controller ${ready.length === 1 ? "pod" : "pods"}`,
    };
  const addressed = ingresses.find((i) => (typed(i, "Ingress").status?.loadBalancer?.ingress ?? []).length > 0);
  if (addressed)
    return {
      served: true,
      why: `served: Ingress ${addressed.metadata.namespace}/${addressed.metadata.name} has an address`,
    };
  if (known) {
    return {
      served: false,
      why:
        pods.length > 0
          ? `none of the ${pods.length} ${known.name} controller pods is ready`
          : `no ${known.name} controller pod runs in the cluster`,
      hint: known.install,
    };
  }
  if (ingresses.length > 0) {
    return {
      served: false,
      why: `none of its ${ingresses.length} Ingresses has an address (${ingresses
        .slice(0, 3)
        .map((i) => `${i.metadata.namespace}/${i.metadata.name}`)
        .join(", ")})`,
      hint: `kubectl get pods -A | grep -i ingress shows whether its controller runs; install or fix the controller of ${controller ?? "the class"}`,
    };
  }
  return {};
}

/** cert-manager's CRDs and a Ready ClusterIssuer, or the TLS Secret the Ingress names. */
export const tlsCheck: PreflightCheck = {
  id: "tls",
  group: "Ingress and TLS",
  title: "TLS",
  needs: ["cluster"],
  reads: (ctx) => {
    const tls = ctx.config.tls;
    if (tls.mode === "cert-manager")
      return [
        ask("CustomResourceDefinition", "get", undefined),
        { verb: "get", resource: "clusterissuers", group: "cert-manager.io" },
      ];
    return tls.mode === "secret" ? [ask("Secret", "get", ctx.rendered.namespace)] : [];
  },
  async run({ kube, config }): Promise<CheckResult> {
    const tls = config.tls;
    if (tls.mode === "none") return { status: "pass", message: "none: the web UI is served over plain HTTP" };
    if (tls.mode === "secret") {
      const secret = await kube.get({
        apiVersion: "v1",
        kind: "Secret",
        name: tls.secretName,
        namespace: config.namespace,
      });
      if (!secret)
        return {
          status: "warn",
          message: `TLS Secret ${tls.secretName} does not exist in ${config.namespace} yet: HTTPS fails until it does`,
          hint: `kubectl -n ${config.namespace} create secret tls ${tls.secretName} --cert=FILE --key=FILE`,
        };
      if (secret.type !== "kubernetes.io/tls")
        return {
          status: "warn",
          message: `Secret ${tls.secretName} is of type ${secret.type}, not kubernetes.io/tls`,
          hint: "create it with kubectl create secret tls",
        };
      return { status: "pass", message: `TLS Secret ${tls.secretName}` };
    }
    const crd = await kube.get({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      name: "clusterissuers.cert-manager.io",
    });
    if (!crd)
      return {
        status: "fail",
        message: `cert-manager is not installed (no CustomResourceDefinition clusterissuers.cert-manager.io), so ClusterIssuer ${tls.issuer} cannot issue the certificate`,
        hint: "install cert-manager, or choose --tls secret:NAME or --tls none",
      };
    const issuer = await kube.get({ apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", name: tls.issuer });
    if (!issuer)
      return {
        status: "fail",
        message: `ClusterIssuer ${tls.issuer} does not exist`,
        hint: "kubectl get clusterissuers lists the ones there are; pass --tls cert-manager:NAME",
      };
    // A cert-manager resource: its status conditions are shaped as the built-in ones.
    const ready = (issuer.status?.conditions as readonly StatusCondition[] | undefined)?.find(
      (c) => c.type === "Ready",
    );
    if (ready?.status !== "True")
      return {
        status: "fail",
        message: `ClusterIssuer ${tls.issuer} is not Ready${ready?.message ? `: ${ready.message}` : ""}`,
        hint: `why: kubectl describe clusterissuer ${tls.issuer}`,
      };
    return { status: "pass", message: `ClusterIssuer ${tls.issuer} is Ready` };
  },
};

import type { Check, CheckResult } from "../types.js";
import type { PreflightContext } from "./context.js";

const DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class";

export const ingressClassCheck: Check<PreflightContext> = {
  id: "ingress-class", group: "Ingress and TLS", title: "IngressClass", needs: ["cluster"],
  async run({ kube, config }): Promise<CheckResult> {
    const classes = (await kube.list("networking.k8s.io/v1", "IngressClass", undefined)).items;
    const chosen = classes.find((c) => c.metadata.name === config.ingressClass);
    if (!chosen) {
      return {
        status: "warn",
        message: `IngressClass ${config.ingressClass} does not exist (the cluster has: ${classes.map((c) => c.metadata.name).join(", ") || "none"}): the web UI is unreachable until a controller serves it`,
        hint: "install an ingress controller (e.g. ingress-nginx), or pass --ingress-class with an existing class",
      };
    }
    const isDefault = chosen.metadata.annotations?.[DEFAULT_CLASS] === "true";
    return { status: "pass", message: `IngressClass ${chosen.metadata.name} (controller ${chosen.spec?.controller}${isDefault ? ", the cluster default" : ""})` };
  },
};

/** cert-manager's CRDs and a Ready ClusterIssuer, or the TLS Secret the Ingress names. */
export const tlsCheck: Check<PreflightContext> = {
  id: "tls", group: "Ingress and TLS", title: "TLS", needs: ["cluster"],
  async run({ kube, config }): Promise<CheckResult> {
    const tls = config.tls;
    if (tls.mode === "none") return { status: "pass", message: "none: the web UI is served over plain HTTP" };
    if (tls.mode === "secret") {
      const secret = await kube.get({ apiVersion: "v1", kind: "Secret", name: tls.secretName, namespace: config.namespace });
      if (!secret) return { status: "warn", message: `TLS Secret ${tls.secretName} does not exist in ${config.namespace} yet: HTTPS fails until it does`, hint: `kubectl -n ${config.namespace} create secret tls ${tls.secretName} --cert=FILE --key=FILE` };
      if (secret.type !== "kubernetes.io/tls") return { status: "warn", message: `Secret ${tls.secretName} is of type ${secret.type}, not kubernetes.io/tls`, hint: "create it with kubectl create secret tls" };
      return { status: "pass", message: `TLS Secret ${tls.secretName}` };
    }
    const crd = await kube.get({ apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", name: "clusterissuers.cert-manager.io" });
    if (!crd) return { status: "fail", message: `cert-manager is not installed (no CustomResourceDefinition clusterissuers.cert-manager.io), so ClusterIssuer ${tls.issuer} cannot issue the certificate`, hint: "install cert-manager, or choose --tls secret:NAME or --tls none" };
    const issuer = await kube.get({ apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", name: tls.issuer });
    if (!issuer) return { status: "fail", message: `ClusterIssuer ${tls.issuer} does not exist`, hint: "kubectl get clusterissuers lists the ones there are; pass --tls cert-manager:NAME" };
    const ready = (issuer.status?.conditions as { type: string; status: string; message?: string }[] | undefined)?.find((c) => c.type === "Ready");
    if (ready?.status !== "True") return { status: "fail", message: `ClusterIssuer ${tls.issuer} is not Ready${ready?.message ? `: ${ready.message}` : ""}`, hint: `kubectl describe clusterissuer ${tls.issuer} says why` };
    return { status: "pass", message: `ClusterIssuer ${tls.issuer} is Ready` };
  },
};

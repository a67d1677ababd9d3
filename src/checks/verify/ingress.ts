import { typed } from "../../facts/objects.js";
import { CONFIGMAP_NAME } from "../../facts/names.js";
import type { Check, CheckResult } from "../types.js";
import type { VerifyContext } from "./context.js";
import { invoked } from "../../base/invocation.js";

const SSE_ANNOTATIONS: Readonly<Record<string, string>> = {
  "nginx.ingress.kubernetes.io/proxy-buffering": "off",
  "nginx.ingress.kubernetes.io/proxy-read-timeout": "300",
  "nginx.ingress.kubernetes.io/proxy-send-timeout": "300",
};
const NGINX_CONTROLLER = "k8s.io/ingress-nginx";

async function ingressOf(ctx: VerifyContext) {
  return ctx.kube.get({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    name: "mathison-web",
    namespace: ctx.state.namespace,
  });
}

/** A controller published an address in the Ingress status: something serves the domain. */
export const ingressAddressCheck: Check<VerifyContext> = {
  id: "ingress-address",
  group: "Ingress chain",
  title: "Ingress address",
  needs: ["cluster"],
  async run(ctx): Promise<CheckResult> {
    const ing = await ingressOf(ctx);
    if (!ing)
      return { status: "fail", message: "Ingress mathison-web is missing", hint: `re-run ${invoked()} install` };
    const className = typed(ing, "Ingress").spec?.ingressClassName;
    const cls = className
      ? await ctx.kube.get({ apiVersion: "networking.k8s.io/v1", kind: "IngressClass", name: className })
      : undefined;
    if (!cls)
      return {
        status: "fail",
        message: `IngressClass ${className ?? "(none)"} does not exist`,
        hint: "install an ingress controller, or re-run install with --ingress-class NAME",
      };
    const lb = (typed(ing, "Ingress").status?.loadBalancer?.ingress ?? [])
      .map((a) => a.ip ?? a.hostname)
      .filter(Boolean);
    if (lb.length === 0)
      return {
        status: "fail",
        message: `no ingress controller has picked this Ingress up (class ${className}: no address in its status)`,
        hint: `kubectl get pods -A -l app.kubernetes.io/name=ingress-nginx; the controller of class ${className} must run`,
      };
    return { status: "pass", message: `served at ${lb.join(", ")} by class ${className}` };
  },
};

/** AUTH_URL equals the Ingress URL: OAuth callbacks go where the app is served. */
export const authUrlCheck: Check<VerifyContext> = {
  id: "auth-url",
  group: "Ingress chain",
  title: "AUTH_URL",
  needs: ["cluster"],
  async run(ctx): Promise<CheckResult> {
    const [ing, cm] = await Promise.all([
      ingressOf(ctx),
      ctx.kube.get({ apiVersion: "v1", kind: "ConfigMap", name: CONFIGMAP_NAME, namespace: ctx.state.namespace }),
    ]);
    const spec = ing ? typed(ing, "Ingress").spec : undefined;
    const host = spec?.rules?.[0]?.host;
    const tls = (spec?.tls ?? []).some((t) => t.hosts?.includes(host ?? ""));
    const url = host ? `${tls ? "https" : "http"}://${host}` : "(no host)";
    const auth = cm ? typed(cm, "ConfigMap").data?.["AUTH_URL"] : undefined;
    if (auth !== url)
      return {
        status: "fail",
        message: `AUTH_URL is ${auth ?? "(unset)"}, the Ingress serves ${url}: sign-in callbacks would break`,
        hint: `re-run ${invoked()} install: it derives AUTH_URL from the domain and TLS`,
      };
    return { status: "pass", message: `AUTH_URL ${auth} is the Ingress URL` };
  },
};

/** Server-sent events stream only if the controller does not buffer them and keeps the connection open. */
export const sseCheck: Check<VerifyContext> = {
  id: "sse",
  group: "Ingress chain",
  title: "Streaming (SSE) through the Ingress",
  needs: ["cluster"],
  async run(ctx): Promise<CheckResult> {
    const ing = await ingressOf(ctx);
    const className = ing ? typed(ing, "Ingress").spec?.ingressClassName : undefined;
    const cls = className
      ? await ctx.kube.get({ apiVersion: "networking.k8s.io/v1", kind: "IngressClass", name: className })
      : undefined;
    if (cls?.spec?.controller !== NGINX_CONTROLLER) {
      return {
        status: "warn",
        message: `class ${className ?? "(none)"} is not ingress-nginx: its buffering and timeouts are not known here`,
        hint: "turn response buffering off and allow 300 s reads for mathison-web in that controller, or AI chat will not stream",
      };
    }
    const notes = ing?.metadata.annotations ?? {};
    const wrong = Object.entries(SSE_ANNOTATIONS).filter(([k, v]) => notes[k] !== v);
    if (wrong.length > 0)
      return {
        status: "fail",
        message: `ingress-nginx will ${wrong.map(([k, v]) => `not have ${k}=${v}`).join(", ")}`,
        hint: `re-run ${invoked()} install to restore the annotations`,
      };
    return { status: "pass", message: "ingress-nginx: proxy buffering off, read and send timeouts 300 s" };
  },
};

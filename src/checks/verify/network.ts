import { request as httpsRequest } from "node:https";
import * as tls from "node:tls";
import type { Check, CheckResult } from "../types.js";
import type { VerifyContext } from "./context.js";
import { builtin } from "../../base/builtin.js";
import { http } from "../../base/node-http.js";
import { typed } from "../../facts/objects.js";

interface Served {
  readonly domain: string;
  readonly tlsSecret: string | undefined;
  readonly issuer: string | undefined;
  /** What the controller published in the Ingress status (IPs, or hostnames resolved to IPs). */
  readonly published: readonly string[];
}

export async function servedBy(ctx: VerifyContext): Promise<Served | undefined> {
  const ing = await ctx.kube.get({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    name: "mathison-web",
    namespace: ctx.state.namespace,
  });
  const spec = ing ? typed(ing, "Ingress").spec : undefined;
  const domain = spec?.rules?.[0]?.host;
  if (!ing || !domain) return undefined;
  const tlsSecret = (spec?.tls ?? []).find((t) => t.hosts?.includes(domain))?.secretName;
  const entries = typed(ing, "Ingress").status?.loadBalancer?.ingress ?? [];
  const published = (
    await Promise.all(
      entries.map(async (e) =>
        e.ip
          ? [e.ip]
          : e.hostname
            ? (
                await dns()
                  .lookup(e.hostname, { all: true })
                  .catch(() => [])
              ).map((a) => a.address)
            : [],
      ),
    )
  ).flat();
  return { domain, tlsSecret, issuer: ing.metadata.annotations?.["cert-manager.io/cluster-issuer"], published };
}

/** Where the domain leads: the address --resolve gives, else what DNS answers. */
async function resolveDomain(ctx: VerifyContext, domain: string): Promise<{ addresses: string[]; how: string }> {
  const forced = ctx.network.resolve.get(domain);
  if (forced) return { addresses: [forced], how: "by --resolve" };
  return { addresses: (await dns().lookup(domain, { all: true })).map((a) => a.address), how: "in DNS" };
}

/** node:dns/promises, loaded by the checks that look a name up: an install with --skip-verify never does. */
const dns = () => builtin("node:dns/promises") as typeof import("node:dns/promises");

/** The address the TLS and HTTP checks connect to: --resolve's, else the controller's own. */
export function connectAddress(ctx: VerifyContext, s: Served): string | undefined {
  return ctx.network.resolve.get(s.domain) ?? s.published[0];
}

export const NO_INGRESS: CheckResult = {
  status: "skip",
  message: "the Ingress mathison-web is missing",
  hint: "see Ingress address",
};
export const TLS_OFF: CheckResult = {
  status: "skip",
  message: "TLS is off (--tls none): the app is served over plain HTTP",
  hint: "re-run install with --tls to serve HTTPS",
};

/** What the TLS checks look at, or why they have nothing to look at. */
export async function servedWithTls(
  ctx: VerifyContext,
): Promise<(Served & { readonly tlsSecret: string }) | CheckResult> {
  const s = await servedBy(ctx);
  if (!s) return NO_INGRESS;
  if (!s.tlsSecret) return TLS_OFF;
  return { ...s, tlsSecret: s.tlsSecret };
}
export const NO_ADDRESS = (s: Served): CheckResult => ({
  status: "skip",
  message: `no address to reach ${s.domain} at: the Ingress has none yet`,
  hint: "see Ingress address",
});

/** The domain resolves to the address the controller published. */
export const dnsCheck: Check<VerifyContext> = {
  id: "dns",
  group: "Ingress chain",
  title: "DNS",
  needs: ["network"],
  async run(ctx): Promise<CheckResult> {
    const s = await servedBy(ctx);
    if (!s) return NO_INGRESS;
    if (s.published.length === 0) return NO_ADDRESS(s);
    const want = s.published.join(", ");
    const fix = `point an A record for ${s.domain} at ${s.published[0]} (or check before DNS is set up: --resolve ${s.domain}:${s.published[0]})`;
    let found: { addresses: string[]; how: string };
    try {
      found = await resolveDomain(ctx, s.domain);
    } catch (err) {
      return {
        status: "fail",
        message: `${s.domain} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        hint: fix,
      };
    }
    if (!found.addresses.some((a) => s.published.includes(a))) {
      return {
        status: "fail",
        message: `${s.domain} resolves ${found.how} to ${found.addresses.join(", ")}, but the Ingress is served at ${want}`,
        hint: fix,
      };
    }
    return {
      status: "pass",
      message: `${s.domain} resolves ${found.how} to ${found.addresses.join(", ")}, the Ingress address`,
    };
  },
};

/** The CAs a check trusts: Node's defaults (with NODE_EXTRA_CA_CERTS), plus --ca-file's. */
export function trustedCas(ctx: VerifyContext): string[] | undefined {
  if (!ctx.network.extraCa) return undefined;
  const defaults = (tls as { getCACertificates?: (type: string) => string[] }).getCACertificates?.("default") ?? [
    ...tls.rootCertificates,
  ];
  return [...defaults, ctx.network.extraCa];
}

/** The port the controller serves the domain on: --resolve's, else HTTPS's or HTTP's own. */
export function portOf(ctx: VerifyContext, domain: string, secure: boolean): number {
  return ctx.network.ports?.get(domain) ?? (secure ? 443 : 80);
}

/** `GET <AUTH_URL>/api/health` through the controller answers 200: the whole chain works. */
export const healthCheck: Check<VerifyContext> = {
  id: "health",
  group: "Ingress chain",
  title: "GET /api/health",
  needs: ["network"],
  async run(ctx): Promise<CheckResult> {
    const s = await servedBy(ctx);
    if (!s) return NO_INGRESS;
    const address = connectAddress(ctx, s);
    if (!address) return NO_ADDRESS(s);
    const secure = Boolean(s.tlsSecret);
    const port = portOf(ctx, s.domain, secure);
    const url = `${secure ? "https" : "http"}://${s.domain}${port === (secure ? 443 : 80) ? "" : `:${port}`}/api/health`;
    const answer = await get(url, address, port, trustedCas(ctx));
    const ns = ctx.state.namespace;
    if (typeof answer === "string")
      return {
        status: "fail",
        message: `${url} (at ${address}): ${answer}`,
        hint: `see the TLS checks; curl -v --resolve ${s.domain}:${port}:${address} ${url}`,
      };
    if (answer.status !== 200) {
      return {
        status: "fail",
        message: `${url} (at ${address}) answered ${answer.status} ${answer.text}`,
        hint:
          answer.status >= 502 && answer.status <= 504
            ? `the controller reached no working web pod: kubectl -n ${ns} get endpointslices -l kubernetes.io/service-name=mathison-web; kubectl -n ${ns} logs deploy/mathison-web`
            : `kubectl -n ${ns} logs deploy/mathison-web`,
      };
    }
    return { status: "pass", message: `${url} (at ${address}) answered 200` };
  },
};

function get(
  url: string,
  address: string,
  port: number,
  ca: string[] | undefined,
): Promise<{ status: number; text: string } | string> {
  const u = new URL(url);
  const secure = u.protocol === "https:";
  return new Promise((resolve) => {
    const options = {
      host: address,
      port,
      path: u.pathname,
      servername: u.hostname,
      headers: { host: u.hostname },
      ca,
      timeout: 5_000,
    };
    const req = (secure ? httpsRequest : http.request)(options, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, text: res.statusMessage ?? "" });
    });
    req.once("timeout", () => req.destroy(new Error("no answer within 5 s")));
    req.once("error", (err: NodeJS.ErrnoException) =>
      resolve(err.code ? `${err.code}${err.message.includes(err.code) ? "" : `: ${err.message}`}` : err.message),
    );
    req.end();
  });
}

import { request as httpsRequest } from "node:https";
import * as tls from "node:tls";
import { X509Certificate } from "node:crypto";
import type { Check, CheckResult } from "../types.js";
import type { VerifyContext } from "./context.js";
import { builtin } from "../../base/builtin.js";
import { http } from "../../base/node-http.js";
import { type KubeObject, typed } from "../../facts/objects.js";

const EXPIRY_WARNING_DAYS = 14;
const DAY_MS = 86_400_000;

interface Served {
  readonly domain: string;
  readonly tlsSecret: string | undefined;
  readonly issuer: string | undefined;
  /** What the controller published in the Ingress status (IPs, or hostnames resolved to IPs). */
  readonly published: readonly string[];
}

async function servedBy(ctx: VerifyContext): Promise<Served | undefined> {
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
function connectAddress(ctx: VerifyContext, s: Served): string | undefined {
  return ctx.network.resolve.get(s.domain) ?? s.published[0];
}

const NO_INGRESS: CheckResult = {
  status: "skip",
  message: "the Ingress mathison-web is missing",
  hint: "see Ingress address",
};
const TLS_OFF: CheckResult = {
  status: "skip",
  message: "TLS is off (--tls none): the app is served over plain HTTP",
  hint: "re-run install with --tls to serve HTTPS",
};

/** What the TLS checks look at, or why they have nothing to look at. */
async function servedWithTls(ctx: VerifyContext): Promise<(Served & { readonly tlsSecret: string }) | CheckResult> {
  const s = await servedBy(ctx);
  if (!s) return NO_INGRESS;
  if (!s.tlsSecret) return TLS_OFF;
  return { ...s, tlsSecret: s.tlsSecret };
}
const NO_ADDRESS = (s: Served): CheckResult => ({
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

function certificateProblem(cert: X509Certificate, domain: string, where: string): CheckResult | undefined {
  if (!cert.checkHost(domain))
    return {
      status: "fail",
      message: `${where} is for ${cert.subjectAltName ?? cert.subject}, not ${domain}`,
      hint: "issue a certificate whose subjectAltName holds the domain",
    };
  const daysLeft = Math.floor((Date.parse(cert.validTo) - Date.now()) / DAY_MS);
  if (daysLeft < 0)
    return { status: "fail", message: `${where} expired on ${cert.validTo}`, hint: "renew the certificate" };
  if (daysLeft < EXPIRY_WARNING_DAYS)
    return {
      status: "warn",
      message: `${where} expires in ${daysLeft} days (${cert.validTo})`,
      hint: "renew the certificate before it expires",
    };
  return undefined;
}

/** cert-manager's Certificate is Ready, or the TLS Secret holds a certificate for the domain that is not about to expire. */
export const tlsCertificateCheck: Check<VerifyContext> = {
  id: "tls-certificate",
  group: "Ingress chain",
  title: "TLS certificate",
  needs: ["cluster"],
  async run(ctx): Promise<CheckResult> {
    const s = await servedWithTls(ctx);
    if ("status" in s) return s;
    const ns = ctx.state.namespace;
    if (s.issuer) return certManagerReady(ctx, s.tlsSecret, s.issuer);
    const secret = await ctx.kube.get({ apiVersion: "v1", kind: "Secret", name: s.tlsSecret, namespace: ns });
    const pem = secret ? typed(secret, "Secret").data?.["tls.crt"] : undefined;
    if (!pem)
      return {
        status: "fail",
        message: `Secret ${s.tlsSecret} ${secret ? "holds no tls.crt" : "does not exist"}`,
        hint: `kubectl -n ${ns} create secret tls ${s.tlsSecret} --cert=FILE --key=FILE`,
      };
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(Buffer.from(pem, "base64"));
    } catch (err) {
      return {
        status: "fail",
        message: `Secret ${s.tlsSecret}'s tls.crt is not a certificate: ${(err as Error).message}`,
        hint: `kubectl -n ${ns} create secret tls ${s.tlsSecret} --cert=FILE --key=FILE --dry-run=client -o yaml | kubectl apply -f -`,
      };
    }
    return (
      certificateProblem(cert, s.domain, `the certificate in Secret ${s.tlsSecret}`) ?? {
        status: "pass",
        message: `Secret ${s.tlsSecret} holds a certificate for ${s.domain}, valid until ${cert.validTo}`,
      }
    );
  },
};

async function certManagerReady(ctx: VerifyContext, name: string, issuer: string): Promise<CheckResult> {
  const ns = ctx.state.namespace;
  const cert: KubeObject | undefined = await ctx.kube.get({
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    name,
    namespace: ns,
  });
  if (!cert)
    return {
      status: "fail",
      message: `cert-manager has not created Certificate ${name} (ClusterIssuer ${issuer})`,
      hint: "kubectl -n cert-manager logs deploy/cert-manager",
    };
  const ready = (
    (cert.status?.conditions as { type: string; status: string; message?: string }[] | undefined) ?? []
  ).find((c) => c.type === "Ready");
  if (ready?.status !== "True")
    return {
      status: "fail",
      message: `Certificate ${name} is not Ready: ${ready?.message ?? "no Ready condition yet"}`,
      hint: `kubectl -n ${ns} describe certificate ${name}`,
    };
  return { status: "pass", message: `cert-manager's Certificate ${name} is Ready (ClusterIssuer ${issuer})` };
}

/** The CAs a check trusts: Node's defaults (with NODE_EXTRA_CA_CERTS), plus --ca-file's. */
function trustedCas(ctx: VerifyContext): string[] | undefined {
  if (!ctx.network.extraCa) return undefined;
  const defaults = (tls as { getCACertificates?: (type: string) => string[] }).getCACertificates?.("default") ?? [
    ...tls.rootCertificates,
  ];
  return [...defaults, ctx.network.extraCa];
}

/** What the controller serves for the domain: a certificate valid for it, from a CA this machine trusts. */
export const tlsServedCheck: Check<VerifyContext> = {
  id: "tls-served",
  group: "Ingress chain",
  title: "HTTPS certificate served",
  needs: ["network"],
  async run(ctx): Promise<CheckResult> {
    const s = await servedWithTls(ctx);
    if ("status" in s) return s;
    const address = connectAddress(ctx, s);
    if (!address) return NO_ADDRESS(s);
    const port = portOf(ctx, s.domain, true);
    const { cert, error } = await handshake(address, port, s.domain, trustedCas(ctx));
    if (!cert)
      return {
        status: "fail",
        message: `no TLS handshake with ${address}:${port} for ${s.domain}: ${error}`,
        hint: `the ingress controller must listen on ${port} and serve the Ingress's TLS Secret`,
      };
    const wrong = certificateProblem(cert, s.domain, `the certificate ${address} serves`);
    if (wrong) return wrong;
    if (error)
      return {
        status: "fail",
        message: `the certificate ${address} serves for ${s.domain} is not trusted here: ${error}`,
        hint: "if it comes from a private CA, pass --ca-file CA.pem (or set NODE_EXTRA_CA_CERTS)",
      };
    return {
      status: "pass",
      message: `${address} serves a trusted certificate for ${s.domain}, valid until ${cert.validTo}`,
    };
  },
};

/** The port the controller serves the domain on: --resolve's, else HTTPS's or HTTP's own. */
function portOf(ctx: VerifyContext, domain: string, secure: boolean): number {
  return ctx.network.ports?.get(domain) ?? (secure ? 443 : 80);
}

function handshake(
  address: string,
  port: number,
  servername: string,
  ca: string[] | undefined,
): Promise<{ cert?: X509Certificate; error?: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: address, port, servername, ca, rejectUnauthorized: false, timeout: 5_000 });
    socket.once("secureConnect", () => {
      const raw = socket.getPeerX509Certificate();
      const error = socket.authorized ? undefined : String(socket.authorizationError);
      socket.destroy();
      resolve(raw ? { cert: raw, ...(error ? { error } : {}) } : { error: "no certificate" });
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve({ error: "no answer within 5 s" });
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
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

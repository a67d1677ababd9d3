import * as tls from "node:tls";
import { X509Certificate } from "node:crypto";
import type { Check, CheckResult } from "../types.js";
import type { VerifyContext } from "./context.js";
import { type KubeObject, typed } from "../../facts/objects.js";
import { connectAddress, NO_ADDRESS, portOf, servedWithTls, trustedCas } from "./network.js";

// The install's certificate: the one its TLS Secret holds (dates, names, cert-manager's view)
// and the one the ingress actually serves.

const EXPIRY_WARNING_DAYS = 14;

const DAY_MS = 86_400_000;

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

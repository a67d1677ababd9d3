import { readFileSync, statSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { parseDocument } from "yaml";
import { ClusterAccessError } from "./types.js";

/** The `auth-provider: {name: oidc, config}` fields kubectl reads. */
export interface OidcConfig {
  readonly "idp-issuer-url"?: string;
  readonly "client-id"?: string;
  readonly "client-secret"?: string;
  readonly "idp-certificate-authority"?: string;
  readonly "idp-certificate-authority-data"?: string;
  readonly "id-token"?: string;
  readonly "refresh-token"?: string;
}

/** Where the provider's config came from: refreshed tokens are written back there, as kubectl does. */
export interface OidcOrigin {
  readonly file: string;
  readonly user: string;
}

/** kubectl counts an id-token as expired this long before its `exp`. */
const EXPIRY_MARGIN_MS = 10_000;

/** Whether a JWT's `exp` is more than the margin away; a token that is not a JWT is an error, as under kubectl. */
export function idTokenValid(token: string, now = Date.now()): boolean {
  const parts = token.split(".");
  if (parts.length !== 3) throw new ClusterAccessError("the kubeconfig's auth-provider oidc: id-token is not a JWT");
  const claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as { exp?: number };
  return typeof claims.exp === "number" && now + EXPIRY_MARGIN_MS < claims.exp * 1000;
}

/**
 * The id-token of a legacy `oidc` auth-provider, as kubectl gets it: the one in the kubeconfig
 * while it is valid; once expired, a new one from the issuer's token endpoint (OpenID discovery)
 * with the refresh token, written back into the kubeconfig file with a rotated refresh token, so
 * kubectl and the next run use them too.
 */
export class OidcTokenSource {
  private config: OidcConfig;
  private refreshing: Promise<string> | undefined;

  constructor(
    config: OidcConfig,
    private readonly origin: OidcOrigin,
    private readonly readCa: (path: string) => Buffer,
  ) {
    this.config = { ...config };
  }

  async token(): Promise<string> {
    const current = this.config["id-token"];
    if (current && idTokenValid(current)) return current;
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refresh(): Promise<string> {
    const c = this.config;
    const refreshToken = c["refresh-token"];
    if (!refreshToken)
      throw new ClusterAccessError(
        "the kubeconfig's auth-provider oidc has no valid id-token and no refresh-token: log in again (kubectl oidc-login, or your provider's login)",
      );
    const issuer = c["idp-issuer-url"];
    if (!issuer)
      throw new ClusterAccessError(
        "the kubeconfig's auth-provider oidc has no idp-issuer-url to refresh its id-token at",
      );
    const ca = c["idp-certificate-authority-data"]
      ? Buffer.from(c["idp-certificate-authority-data"], "base64")
      : c["idp-certificate-authority"]
        ? this.readCa(c["idp-certificate-authority"])
        : undefined;
    const discovery = await call<{ token_endpoint?: string }>(
      new URL(`${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`),
      "GET",
      ca,
    );
    if (!discovery.token_endpoint)
      throw new ClusterAccessError(`the oidc issuer ${issuer} names no token_endpoint in its discovery document`);
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken });
    const basic = `Basic ${Buffer.from(`${encodeURIComponent(c["client-id"] ?? "")}:${encodeURIComponent(c["client-secret"] ?? "")}`).toString("base64")}`;
    const answer = await call<{ id_token?: string; refresh_token?: string }>(
      new URL(discovery.token_endpoint),
      "POST",
      ca,
      form.toString(),
      basic,
    );
    if (!answer.id_token)
      throw new ClusterAccessError(
        `the oidc issuer ${issuer} refreshed the token without an id_token (was the openid scope asked for at login?)`,
      );
    this.config = {
      ...c,
      "id-token": answer.id_token,
      ...(answer.refresh_token ? { "refresh-token": answer.refresh_token } : {}),
    };
    persist(this.origin, this.config);
    return answer.id_token;
  }
}

/** Writes the refreshed tokens into the user's entry of the kubeconfig file it came from, keeping the file's layout and mode. */
function persist(origin: OidcOrigin, config: OidcConfig): void {
  try {
    const text = readFileSync(origin.file, "utf8");
    const doc = parseDocument(text);
    const users = doc.get("users") as
      | { items?: { get(k: string): unknown; getIn(p: string[]): unknown; setIn(p: string[], v: unknown): void }[] }
      | undefined;
    const entry = users?.items?.find((u) => u.get("name") === origin.user);
    if (!entry) return;
    entry.setIn(["user", "auth-provider", "config", "id-token"], config["id-token"]);
    if (config["refresh-token"])
      entry.setIn(["user", "auth-provider", "config", "refresh-token"], config["refresh-token"]);
    writeFileSync(origin.file, doc.toString(), { mode: statSync(origin.file).mode & 0o777 });
  } catch (err) {
    throw new ClusterAccessError(
      `the refreshed oidc tokens could not be written back to ${origin.file}: ${(err as Error).message}`,
    );
  }
}

function call<T>(
  url: URL,
  method: "GET" | "POST",
  ca: Buffer | undefined,
  body?: string,
  authorization?: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined)
      Object.assign(headers, {
        "content-type": "application/x-www-form-urlencoded",
        "content-length": String(Buffer.byteLength(body)),
      });
    if (authorization) headers["authorization"] = authorization;
    const req = httpsRequest(url, { method, headers, ...(ca ? { ca } : {}), timeout: 30_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => {
        const text = Buffer.concat(parts).toString("utf8");
        if ((res.statusCode ?? 0) >= 300)
          return reject(
            new ClusterAccessError(
              `the oidc issuer answered ${res.statusCode} at ${url.origin}${url.pathname}: ${text.slice(0, 120)}`,
            ),
          );
        try {
          resolve(JSON.parse(text) as T);
        } catch {
          reject(new ClusterAccessError(`the oidc issuer's answer at ${url.origin}${url.pathname} is not JSON`));
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error("no answer in 30 s")));
    req.on("error", (err) =>
      reject(
        err instanceof ClusterAccessError
          ? err
          : new ClusterAccessError(`reaching the oidc issuer at ${url.origin}: ${err.message}`),
      ),
    );
    req.end(body);
  });
}

import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { ClusterAccessError } from "./types.js";

/** Where a command reaches a cluster, as kubectl finds it: --kubeconfig, KUBECONFIG, ~/.kube/config, in-cluster. */
export interface ConnectOptions {
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
}

/** A TLS identity and trust, as Node's https takes them. */
export interface TlsSettings {
  readonly ca?: Buffer | undefined;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  readonly rejectUnauthorized: boolean;
  readonly servername?: string | undefined;
}

/** What a request sends to prove who it is; an exec plugin may add a client certificate. */
export interface Credentials {
  readonly headers: Readonly<Record<string, string>>;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
}

/** One context, resolved: the server, its TLS settings, and how to get credentials (fresh when they expire). */
export interface ClusterAccess {
  readonly contextName: string;
  readonly server: string;
  readonly tls: TlsSettings;
  credentials(): Promise<Credentials>;
}

interface Named<T> {
  readonly name: string;
  readonly value: T;
  /** The file that defined it: relative paths in it are relative to that file's directory. */
  readonly dir: string;
}

interface ClusterEntry {
  server?: string;
  "certificate-authority"?: string;
  "certificate-authority-data"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "tls-server-name"?: string;
}

interface ExecConfig {
  apiVersion?: string;
  command: string;
  args?: string[];
  env?: { name: string; value: string }[] | null;
}

interface UserEntry {
  token?: string;
  tokenFile?: string;
  "client-certificate"?: string;
  "client-certificate-data"?: string;
  "client-key"?: string;
  "client-key-data"?: string;
  username?: string;
  password?: string;
  exec?: ExecConfig;
  "auth-provider"?: { name: string; config?: Record<string, string> };
}

interface ContextEntry {
  cluster: string;
  user: string;
  namespace?: string;
}

/** Every kubeconfig file merged as kubectl merges them: the first file to name an entry wins, and the first current-context. */
export interface MergedKubeConfig {
  readonly clusters: readonly Named<ClusterEntry>[];
  readonly users: readonly Named<UserEntry>[];
  readonly contexts: readonly Named<ContextEntry>[];
  readonly currentContext: string | undefined;
}

const IN_CLUSTER_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

function kubeconfigPaths(explicit: string | undefined): string[] {
  if (explicit) return [explicit];
  const env = process.env["KUBECONFIG"];
  if (env) return env.split(delimiter).filter(Boolean);
  const home = join(homedir(), ".kube", "config");
  return existsSync(home) ? [home] : [];
}

export function readKubeConfigFiles(paths: readonly string[], mustExist: boolean): MergedKubeConfig {
  const merged = { clusters: [] as Named<ClusterEntry>[], users: [] as Named<UserEntry>[], contexts: [] as Named<ContextEntry>[], currentContext: undefined as string | undefined };
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      // kubectl skips a missing file of a KUBECONFIG list, but not the one --kubeconfig names.
      if (!mustExist && (err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new ClusterAccessError(`reading the kubeconfig: ${(err as Error).message}`);
    }
    let doc: Record<string, unknown>;
    try {
      doc = (parseYaml(text) ?? {}) as Record<string, unknown>;
    } catch (err) {
      throw new ClusterAccessError(`reading the kubeconfig ${path}: not YAML: ${(err as Error).message.split("\n")[0]}`);
    }
    const dir = dirname(path);
    const add = <T>(into: Named<T>[], list: unknown, key: string): void => {
      for (const e of (Array.isArray(list) ? list : []) as Record<string, unknown>[]) {
        const name = e?.["name"];
        if (typeof name === "string" && !into.some((x) => x.name === name)) into.push({ name, value: (e[key] ?? {}) as T, dir });
      }
    };
    add(merged.clusters, doc["clusters"], "cluster");
    add(merged.users, doc["users"], "user");
    add(merged.contexts, doc["contexts"], "context");
    if (merged.currentContext === undefined && typeof doc["current-context"] === "string" && doc["current-context"]) merged.currentContext = doc["current-context"];
  }
  return merged;
}

function loadMerged(kubeconfig: string | undefined): MergedKubeConfig {
  return readKubeConfigFiles(kubeconfigPaths(kubeconfig), kubeconfig !== undefined);
}

/** The kubeconfig's contexts, the current one first, as a context question offers them. */
export function listContexts(options: Pick<ConnectOptions, "kubeconfig"> = {}): { names: string[]; current: string | undefined } {
  const merged = loadMerged(options.kubeconfig);
  const current = merged.currentContext;
  const names = merged.contexts.map((c) => c.name);
  return { names: current ? [current, ...names.filter((n) => n !== current)] : names, current };
}

/** The cluster a command talks to; a kubeconfig that names none, or a missing context, is the user's to fix. */
export function resolveAccess(options: ConnectOptions): ClusterAccess {
  const merged = loadMerged(options.kubeconfig);
  if (merged.contexts.length === 0 && options.kubeconfig === undefined && process.env["KUBERNETES_SERVICE_HOST"]) return inClusterAccess();
  const contextName = options.context ?? merged.currentContext;
  if (options.context && !merged.contexts.some((c) => c.name === options.context)) {
    throw new ClusterAccessError(`context "${options.context}" is not in the kubeconfig (contexts: ${merged.contexts.map((c) => c.name).join(", ") || "none"})`);
  }
  const context = merged.contexts.find((c) => c.name === contextName);
  const cluster = merged.clusters.find((c) => c.name === context?.value.cluster);
  if (!context || !cluster?.value.server) throw new ClusterAccessError("no cluster configured: set KUBECONFIG, pass --kubeconfig, or run inside a cluster");
  const user = merged.users.find((u) => u.name === context.value.user) ?? { name: "", value: {}, dir: cluster.dir };
  const c = cluster.value;
  const u = user.value;
  const file = (dir: string, p: string | undefined) => (p ? readFileOf(isAbsolute(p) ? p : join(dir, p)) : undefined);
  const data = (b64: string | undefined) => (b64 ? Buffer.from(b64, "base64") : undefined);
  const tls: TlsSettings = {
    ca: data(c["certificate-authority-data"]) ?? file(cluster.dir, c["certificate-authority"]),
    cert: data(u["client-certificate-data"]) ?? file(user.dir, u["client-certificate"]),
    key: data(u["client-key-data"]) ?? file(user.dir, u["client-key"]),
    rejectUnauthorized: c["insecure-skip-tls-verify"] !== true,
    servername: c["tls-server-name"],
  };
  return { contextName: context.name, server: c.server!.replace(/\/+$/, ""), tls, credentials: credentialsOf(u, user.dir, c.server!) };
}

function readFileOf(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ClusterAccessError(`reading the kubeconfig: ${(err as Error).message}`);
  }
}

function inClusterAccess(): ClusterAccess {
  const host = process.env["KUBERNETES_SERVICE_HOST"]!;
  const port = process.env["KUBERNETES_SERVICE_PORT"] ?? "443";
  return {
    contextName: "in-cluster",
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    tls: { ca: readFileOf(join(IN_CLUSTER_DIR, "ca.crt")), rejectUnauthorized: true },
    // The projected token rotates: read it for each request, as client-go does.
    credentials: async () => ({ headers: { authorization: `Bearer ${readFileOf(join(IN_CLUSTER_DIR, "token")).toString("utf8").trim()}` } }),
  };
}

function credentialsOf(u: UserEntry, dir: string, server: string): () => Promise<Credentials> {
  if (u.exec) return execCredentials(u.exec, dir, server);
  if (u.token) return async () => ({ headers: { authorization: `Bearer ${u.token}` } });
  if (u.tokenFile) return async () => ({ headers: { authorization: `Bearer ${readFileOf(isAbsolute(u.tokenFile!) ? u.tokenFile! : join(dir, u.tokenFile!)).toString("utf8").trim()}` } });
  if (u.username !== undefined && u.password !== undefined) return async () => ({ headers: { authorization: `Basic ${Buffer.from(`${u.username}:${u.password}`).toString("base64")}` } });
  const provider = u["auth-provider"];
  if (provider?.name === "oidc" && provider.config?.["id-token"]) return async () => ({ headers: { authorization: `Bearer ${provider.config!["id-token"]}` } });
  if (provider) {
    return async () => { throw new ClusterAccessError(`the kubeconfig's auth-provider "${provider.name}" is not supported: use its exec credential plugin (as current kubectl does)`); };
  }
  return async () => ({ headers: {} });
}

/** client.authentication.k8s.io exec plugins (EKS, GKE, AKS, OIDC helpers): run once, again when the credential expires. */
function execCredentials(exec: ExecConfig, dir: string, server: string): () => Promise<Credentials> {
  let cached: { credentials: Credentials; expires: number } | undefined;
  return async () => {
    if (cached && Date.now() < cached.expires) return cached.credentials;
    const status = await runExecPlugin(exec, dir, server);
    const credentials: Credentials = {
      headers: status.token ? { authorization: `Bearer ${status.token}` } : {},
      ...(status.clientCertificateData ? { cert: Buffer.from(status.clientCertificateData) } : {}),
      ...(status.clientKeyData ? { key: Buffer.from(status.clientKeyData) } : {}),
    };
    // A minute's margin before the plugin's expiry; without one, the credential lasts the run.
    cached = { credentials, expires: status.expirationTimestamp ? Date.parse(status.expirationTimestamp) - 60_000 : Number.POSITIVE_INFINITY };
    return credentials;
  };
}

interface ExecStatus {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  expirationTimestamp?: string;
}

function runExecPlugin(exec: ExecConfig, dir: string, server: string): Promise<ExecStatus> {
  const command = exec.command.includes("/") && !isAbsolute(exec.command) ? join(dir, exec.command) : exec.command;
  const apiVersion = exec.apiVersion ?? "client.authentication.k8s.io/v1";
  const env = { ...process.env, ...Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value])), KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion, kind: "ExecCredential", spec: { interactive: false, cluster: { server } } }) };
  return new Promise((resolve, reject) => {
    const child = spawn(command, exec.args ?? [], { env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", (e) => reject(new ClusterAccessError(`the kubeconfig's credential plugin ${exec.command} could not run: ${e.message}`)));
    child.on("close", (code) => {
      if (code !== 0) return reject(new ClusterAccessError(`the kubeconfig's credential plugin ${exec.command} exited ${code}: ${Buffer.concat(err).toString().trim().split("\n")[0] ?? ""}`));
      try {
        resolve(((JSON.parse(Buffer.concat(out).toString()) as { status?: ExecStatus }).status ?? {}));
      } catch {
        reject(new ClusterAccessError(`the kubeconfig's credential plugin ${exec.command} printed no ExecCredential`));
      }
    });
  });
}

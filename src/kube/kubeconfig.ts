import { existsSync, readFileSync } from "node:fs";
import { fileProblem } from "../base/file-errors.js";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import { parse as parseYaml } from "yaml";
import {
  DEFAULT_EXEC_TIMEOUT_MS,
  EXEC_API_VERSIONS,
  ExecCredentialSource,
  INTERACTIVE_MODES,
  type ExecClusterInfo,
  type ExecConfig,
  type ExecCredential,
  type ExecEnvironment,
} from "./exec-plugin.js";
import { OidcTokenSource } from "./oidc.js";
import { proxyFor } from "./proxy.js";
import { ClusterAccessError } from "./types.js";

/** Where a command reaches a cluster, as kubectl finds it: --kubeconfig, KUBECONFIG, ~/.kube/config, in-cluster. */
export interface ConnectOptions {
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  /** Whether a credential plugin may ask the person (stdin is a terminal), and how long it may take. */
  readonly exec?: Partial<ExecEnvironment> | undefined;
  /** HTTPS_PROXY, NO_PROXY and the like (default: the process's environment). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** The kubeconfig files as already read for this command (`readKubeconfig`): not read again. */
  readonly read?: MergedKubeConfig | undefined;
}

/** A TLS identity and trust, as Node's https takes them. */
export interface TlsSettings {
  readonly ca?: Buffer | undefined;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  readonly rejectUnauthorized: boolean;
  readonly servername?: string | undefined;
}

/** What a request sends to prove who it is (and whom it acts as); an exec plugin may add a client certificate. */
export interface Credentials {
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  /** The exec plugin's credential these came from: what a 401 refreshes. */
  readonly fromPlugin?: ExecCredential | undefined;
}

/** One context, resolved: the server, its TLS settings, the route to it, and how to get credentials (fresh when they expire). */
export interface ClusterAccess {
  readonly contextName: string;
  readonly server: string;
  readonly tls: TlsSettings;
  /** The proxy every connection goes through (the cluster's proxy-url, or HTTPS_PROXY unless NO_PROXY exempts the server). */
  readonly proxy?: URL | undefined;
  /** What the person should know about this access (credentials in clear text). */
  readonly warnings: readonly string[];
  credentials(): Promise<Credentials>;
  /** The API server refused `used` (401): whether fresh credentials can be had (an exec plugin runs again, once). */
  refresh(used: Credentials): boolean;
}

interface Named<T> {
  readonly name: string;
  readonly value: T;
  /** The file that defined it: relative paths in it are relative to that file's directory. */
  readonly dir: string;
  readonly file: string;
}

interface ClusterEntry {
  server?: string;
  "certificate-authority"?: string;
  "certificate-authority-data"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "tls-server-name"?: string;
  "proxy-url"?: string;
  /** The installer never asks for compressed responses, so this holds whatever its value. */
  "disable-compression"?: boolean;
  extensions?: { name: string; extension: unknown }[];
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
  as?: string;
  "as-uid"?: string;
  "as-groups"?: string[];
  "as-user-extra"?: Record<string, string[]>;
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

/** Where the kubeconfig was looked for and what was wrong there, for "no cluster configured". */
function whereLooked(options: Pick<ConnectOptions, "kubeconfig">): string {
  const fix = "pass --kubeconfig FILE, set KUBECONFIG to a kubeconfig, or run inside a cluster";
  if (options.kubeconfig) return `the kubeconfig ${options.kubeconfig} names no current context with a server`;
  const env = process.env["KUBECONFIG"];
  if (env) {
    const files = env.split(delimiter).filter(Boolean);
    const missing = files.filter((f) => !existsSync(f));
    return missing.length === files.length
      ? `KUBECONFIG names ${files.join(", ")}, which ${files.length === 1 ? "does" : "do"} not exist; ${fix}`
      : `the kubeconfig files KUBECONFIG names (${files.join(", ")}) have no current context with a server; ${fix}`;
  }
  const home = join(homedir(), ".kube", "config");
  return existsSync(home)
    ? `${home} has no current context with a server; ${fix}`
    : `KUBECONFIG is not set and ${home} does not exist; ${fix}`;
}

export function readKubeConfigFiles(paths: readonly string[], mustExist: boolean): MergedKubeConfig {
  const merged = {
    clusters: [] as Named<ClusterEntry>[],
    users: [] as Named<UserEntry>[],
    contexts: [] as Named<ContextEntry>[],
    currentContext: undefined as string | undefined,
  };
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      // kubectl skips a missing file of a KUBECONFIG list, but not the one --kubeconfig names.
      if (!mustExist && (err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new ClusterAccessError(`the kubeconfig ${path} ${fileProblem(err)}`);
    }
    let doc: Record<string, unknown>;
    try {
      doc = (parseYaml(text) ?? {}) as Record<string, unknown>;
    } catch (err) {
      throw new ClusterAccessError(
        `reading the kubeconfig ${path}: not YAML: ${(err as Error).message.split("\n")[0]}`,
      );
    }
    const dir = dirname(path);
    const add = <T>(into: Named<T>[], list: unknown, key: string): void => {
      for (const e of (Array.isArray(list) ? list : []) as Record<string, unknown>[]) {
        const name = e?.["name"];
        if (typeof name === "string" && !into.some((x) => x.name === name))
          into.push({ name, value: (e[key] ?? {}) as T, dir, file: path });
      }
    };
    add(merged.clusters, doc["clusters"], "cluster");
    add(merged.users, doc["users"], "user");
    add(merged.contexts, doc["contexts"], "context");
    if (merged.currentContext === undefined && typeof doc["current-context"] === "string" && doc["current-context"])
      merged.currentContext = doc["current-context"];
  }
  return merged;
}

/** The kubeconfig files as kubectl finds them (--kubeconfig, else KUBECONFIG, else ~/.kube/config), merged: read once per command. */
export function readKubeconfig(options: Pick<ConnectOptions, "kubeconfig" | "read"> = {}): MergedKubeConfig {
  return options.read ?? readKubeConfigFiles(kubeconfigPaths(options.kubeconfig), options.kubeconfig !== undefined);
}

/** The kubeconfig's contexts, the current one first, as a context question offers them. */
export function listContexts(options: Pick<ConnectOptions, "kubeconfig" | "read"> = {}): {
  names: string[];
  current: string | undefined;
} {
  const merged = readKubeconfig(options);
  const current = merged.currentContext;
  const names = merged.contexts.map((c) => c.name);
  return { names: current ? [current, ...names.filter((n) => n !== current)] : names, current };
}

/** The cluster a command talks to; a kubeconfig that names none, or a missing context, is the user's to fix. */
export function resolveAccess(options: ConnectOptions): ClusterAccess {
  const merged = readKubeconfig(options);
  if (merged.contexts.length === 0 && options.kubeconfig === undefined && process.env["KUBERNETES_SERVICE_HOST"])
    return inClusterAccess();
  const contextName = options.context ?? merged.currentContext;
  if (options.context && !merged.contexts.some((c) => c.name === options.context)) {
    throw new ClusterAccessError(
      `context "${options.context}" is not in the kubeconfig (contexts: ${merged.contexts.map((c) => c.name).join(", ") || "none"})`,
    );
  }
  const context = merged.contexts.find((c) => c.name === contextName);
  const cluster = merged.clusters.find((c) => c.name === context?.value.cluster);
  if (!context || !cluster?.value.server)
    throw new ClusterAccessError(`no cluster configured: ${whereLooked(options)}`);
  if (context.value.user && !merged.users.some((u) => u.name === context.value.user)) {
    throw new ClusterAccessError(
      `the kubeconfig's context "${context.name}" names user "${context.value.user}", which it does not define`,
    );
  }
  const user = merged.users.find((u) => u.name === context.value.user) ?? {
    name: "",
    value: {},
    dir: cluster.dir,
    file: cluster.file,
  };
  const c = cluster.value;
  const u = user.value;
  refuseWhatKubectlRefuses(cluster.name, c, user.name, u);
  const file = (dir: string, p: string | undefined) => (p ? readFileOf(resolvePath(dir, p)) : undefined);
  const data = (b64: string | undefined) => (b64 ? Buffer.from(b64, "base64") : undefined);
  const tls: TlsSettings = {
    ca: data(c["certificate-authority-data"]) ?? file(cluster.dir, c["certificate-authority"]),
    cert: data(u["client-certificate-data"]) ?? file(user.dir, u["client-certificate"]),
    key: data(u["client-key-data"]) ?? file(user.dir, u["client-key"]),
    rejectUnauthorized: c["insecure-skip-tls-verify"] !== true,
    servername: c["tls-server-name"],
  };
  const server = c.server!.replace(/\/+$/, "");
  const url = new URL(server);
  let proxy: URL | undefined;
  try {
    proxy = proxyFor(url, c["proxy-url"], options.env ?? process.env);
  } catch (err) {
    throw new ClusterAccessError(`the kubeconfig's cluster "${cluster.name}": ${(err as Error).message}`);
  }
  const warnings =
    url.protocol === "http:" && (u.token || u.tokenFile || u.username || u.exec || u["auth-provider"])
      ? [`the API server ${server} is plain http: the credentials of user "${user.name}" travel in clear text`]
      : [];
  const environment: ExecEnvironment = {
    stdinIsTerminal: options.exec?.stdinIsTerminal ?? false,
    timeoutMs: options.exec?.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS,
  };
  const base = credentialSource(user, clusterInfo(server, c, tls.ca), environment);
  const impersonation = impersonationHeaders(u);
  return {
    contextName: context.name,
    server,
    tls,
    proxy,
    warnings,
    credentials: async () => {
      const got = await base.get();
      return { ...got, headers: { ...got.headers, ...impersonation } };
    },
    refresh: (used) => base.refresh(used),
  };
}

function resolvePath(dir: string, p: string): string {
  return isAbsolute(p) ? p : join(dir, p);
}

/** The combinations kubectl's own validation refuses, in one line naming the field. */
function refuseWhatKubectlRefuses(clusterName: string, c: ClusterEntry, userName: string, u: UserEntry): void {
  const refuse = (what: string) => {
    throw new ClusterAccessError(`the kubeconfig's ${what} (kubectl refuses it too)`);
  };
  if (c["insecure-skip-tls-verify"] === true && (c["certificate-authority"] || c["certificate-authority-data"])) {
    refuse(`cluster "${clusterName}" sets insecure-skip-tls-verify together with a certificate-authority: keep one`);
  }
  if ((u["client-certificate"] || u["client-certificate-data"]) && !(u["client-key"] || u["client-key-data"])) {
    refuse(`user "${userName}" has a client-certificate without client-key or client-key-data`);
  }
  if (u.token && (u.username || u.password))
    refuse(`user "${userName}" has more than one authentication method (token and username/password)`);
  if (!u.as && (u["as-uid"] || u["as-groups"]?.length || Object.keys(u["as-user-extra"] ?? {}).length)) {
    refuse(`user "${userName}" sets as-uid, as-groups or as-user-extra without as (the user to impersonate)`);
  }
  const exec = u.exec;
  if (!exec) return;
  if (u["auth-provider"]) refuse(`user "${userName}" has both exec and auth-provider`);
  if (!exec.command) refuse(`user "${userName}": exec.command is missing`);
  if (!exec.apiVersion)
    refuse(`user "${userName}": exec.apiVersion is missing (allowed: ${EXEC_API_VERSIONS.join(", ")})`);
  if (!(EXEC_API_VERSIONS as readonly string[]).includes(exec.apiVersion!))
    refuse(
      `user "${userName}": exec.apiVersion ${exec.apiVersion} is not supported (allowed: ${EXEC_API_VERSIONS.join(", ")})`,
    );
  // kubectl defaults it for v1beta1 and requires it for v1.
  if (exec.interactiveMode === undefined && exec.apiVersion === EXEC_API_VERSIONS[0]) {
    refuse(
      `user "${userName}": exec.interactiveMode is missing (required with ${EXEC_API_VERSIONS[0]}: Never, IfAvailable or Always)`,
    );
  }
  if (exec.interactiveMode !== undefined && !(INTERACTIVE_MODES as readonly string[]).includes(exec.interactiveMode)) {
    refuse(
      `user "${userName}": exec.interactiveMode ${JSON.stringify(exec.interactiveMode)} is not allowed (Never, IfAvailable or Always)`,
    );
  }
  if ((exec.env ?? []).some((e) => !e?.name)) refuse(`user "${userName}": an exec.env entry has no name`);
}

/** The `as*` fields as client-go sends them: on every request, watch, log stream and exec. */
function impersonationHeaders(u: UserEntry): Record<string, string | string[]> {
  if (!u.as) return {};
  const headers: Record<string, string | string[]> = { "impersonate-user": u.as };
  if (u["as-uid"]) headers["impersonate-uid"] = u["as-uid"];
  if (u["as-groups"]?.length) headers["impersonate-group"] = [...u["as-groups"]];
  for (const [key, values] of Object.entries(u["as-user-extra"] ?? {})) {
    headers[`impersonate-extra-${headerKeyEscape(key)}`] = [...values];
  }
  return headers;
}

/** An extra's key percent-encoded where a header name may not hold it (client-go's escaping). */
function headerKeyEscape(key: string): string {
  return [...Buffer.from(key, "utf8")]
    .map((b) =>
      /[!#$&'*+\-.^_`|~0-9A-Za-z]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
    )
    .join("");
}

function clusterInfo(server: string, c: ClusterEntry, ca: Buffer | undefined): ExecClusterInfo {
  const config = c.extensions?.find((e) => e.name === "client.authentication.k8s.io/exec")?.extension;
  return {
    server,
    ...(c["tls-server-name"] ? { "tls-server-name": c["tls-server-name"] } : {}),
    ...(c["insecure-skip-tls-verify"] ? { "insecure-skip-tls-verify": true } : {}),
    ...(ca ? { "certificate-authority-data": ca.toString("base64") } : {}),
    ...(c["proxy-url"] ? { "proxy-url": c["proxy-url"] } : {}),
    ...(c["disable-compression"] ? { "disable-compression": true } : {}),
    ...(config !== undefined ? { config } : {}),
  };
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
    warnings: [],
    // The projected token rotates: read it for each request, as client-go does.
    credentials: async () => ({
      headers: { authorization: `Bearer ${readFileOf(join(IN_CLUSTER_DIR, "token")).toString("utf8").trim()}` },
    }),
    refresh: () => false,
  };
}

interface CredentialSource {
  get(): Promise<Credentials>;
  refresh(used: Credentials): boolean;
}

function fixed(headers: Record<string, string>): CredentialSource {
  return { get: async () => ({ headers }), refresh: () => false };
}

function credentialSource(
  user: Named<UserEntry>,
  cluster: ExecClusterInfo,
  environment: ExecEnvironment,
): CredentialSource {
  const { value: u, dir } = user;
  if (u.exec) return execSource(new ExecCredentialSource(u.exec, dir, cluster, environment));
  if (u.token) return fixed({ authorization: `Bearer ${u.token}` });
  // A token file is read for each request: whatever rotates it, the next request sends the new one.
  if (u.tokenFile)
    return {
      get: async () => ({
        headers: { authorization: `Bearer ${readFileOf(resolvePath(dir, u.tokenFile!)).toString("utf8").trim()}` },
      }),
      refresh: () => false,
    };
  if (u.username !== undefined && u.password !== undefined)
    return fixed({ authorization: `Basic ${Buffer.from(`${u.username}:${u.password}`).toString("base64")}` });
  const provider = u["auth-provider"];
  if (provider?.name === "oidc") {
    const oidc = new OidcTokenSource(provider.config ?? {}, { file: user.file, user: user.name }, (p) =>
      readFileOf(resolvePath(dir, p)),
    );
    return { get: async () => ({ headers: { authorization: `Bearer ${await oidc.token()}` } }), refresh: () => false };
  }
  if (provider) {
    const refusal = new ClusterAccessError(
      `the kubeconfig's auth-provider "${provider.name}" is not supported: use its exec credential plugin (as current kubectl does)`,
    );
    return {
      get: async () => {
        throw refusal;
      },
      refresh: () => false,
    };
  }
  return fixed({});
}

function execSource(source: ExecCredentialSource): CredentialSource {
  return {
    get: async (): Promise<Credentials> => {
      const credential = await source.get();
      const headers: Record<string, string> = credential.token ? { authorization: `Bearer ${credential.token}` } : {};
      return { headers, cert: credential.cert, key: credential.key, fromPlugin: credential };
    },
    refresh: (used) => used.fromPlugin !== undefined && source.refresh(used.fromPlugin),
  };
}

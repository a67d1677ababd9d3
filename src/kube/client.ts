import { Writable } from "node:stream";
import {
  ApiException, AuthorizationV1Api, CoreV1Api, Exec, KubeConfig, KubernetesObjectApi, Log, PatchStrategy, VersionApi, Watch,
  type KubernetesObject,
} from "@kubernetes/client-node";
import type { KubeObject } from "../render/objects.js";
import { ClusterAccessError, KubeApiError, type AccessQuestion, type ApiErrorCause, type ExecResult, type Kube, type ListOptions, type ObjectRef, type WatchEventType, type WatchHandle } from "./types.js";

import { FIELD_MANAGER_NAME as FIELD_MANAGER } from "./field-manager.js";

export interface ConnectOptions {
  /** --kubeconfig; otherwise KUBECONFIG, ~/.kube/config, then in-cluster, as kubectl does. */
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
}

class ObjectApi extends KubernetesObjectApi {
  collectionPath(apiVersion: string, kind: string, namespace: string | undefined): Promise<string> {
    return this.specUriPath({ apiVersion, kind, metadata: namespace ? { namespace } : {} }, "list");
  }
}

function readKubeConfig(kubeconfig: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (kubeconfig) kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    // A missing or unreadable kubeconfig is the user's to fix, like an unreachable server.
    throw new ClusterAccessError(`reading the kubeconfig: ${(err as Error).message}`);
  }
  return kc;
}

export function loadKubeConfig(options: ConnectOptions): KubeConfig {
  const kc = readKubeConfig(options.kubeconfig);
  if (options.context) {
    if (!kc.getContexts().some((c) => c.name === options.context)) {
      throw new ClusterAccessError(`context "${options.context}" is not in the kubeconfig (contexts: ${kc.getContexts().map((c) => c.name).join(", ") || "none"})`);
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) throw new ClusterAccessError("no cluster configured: set KUBECONFIG, pass --kubeconfig, or run inside a cluster");
  return kc;
}

/** The kubeconfig's contexts, the current one first, as a context question offers them. */
export function listContexts(options: Pick<ConnectOptions, "kubeconfig"> = {}): { names: string[]; current: string | undefined } {
  const kc = readKubeConfig(options.kubeconfig);
  const current = kc.getCurrentContext() || undefined;
  const names = kc.getContexts().map((c) => c.name);
  return { names: current ? [current, ...names.filter((n) => n !== current)] : names, current };
}

export function connect(options: ConnectOptions = {}): Kube {
  return new ClientNodeKube(reuseConnections(loadKubeConfig(options)));
}

/**
 * The client builds a new HTTP dispatcher, so a new TCP connection and TLS handshake, for every
 * request. One KubeConfig talks to one cluster with one identity, so one dispatcher serves every
 * request: an install makes about a hundred (measured by hand on the test cluster: reuse cut the
 * no-op re-run by about a tenth and peak memory by about 10 MB).
 */
function reuseConnections(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as { createDispatcher: (...args: unknown[]) => unknown };
  const create = target.createDispatcher.bind(kc);
  let shared: unknown;
  target.createDispatcher = (...args: unknown[]) => (shared ??= create(...args));
  return kc;
}

function apiError(err: unknown, what: string): Error {
  if (err instanceof ApiException) {
    if (err.code === 401) return new ClusterAccessError(`${what}: the API server refused the credentials (401 Unauthorized)`);
    const body = (typeof err.body === "string" ? safeJson(err.body) : err.body) as { message?: string; reason?: string; details?: { causes?: ApiErrorCause[] } } | undefined;
    return new KubeApiError(`${what}: ${body?.message ?? err.message.split("\n")[0]}`, err.code, body?.reason, body?.details?.causes ?? []);
  }
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e.code ?? e.cause?.code;
  if (code && /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|EAI_AGAIN|CERT_|DEPTH_ZERO|UNABLE_TO_VERIFY|SELF_SIGNED)/.test(code)) {
    return new ClusterAccessError(`${what}: ${code}`);
  }
  // fetch reports every network-level failure (refused, TLS, blocked port) as this TypeError.
  if (err instanceof TypeError && /fetch failed/.test(err.message)) {
    return new ClusterAccessError(`${what}: ${code ?? e.cause?.message ?? "the connection failed"}`);
  }
  // No usable kubeconfig: the client falls back to http://localhost and refuses it.
  if (err instanceof Error && /HTTP protocol is not allowed/.test(err.message)) {
    return new ClusterAccessError(`${what}: no cluster configured (set KUBECONFIG or pass --kubeconfig)`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return { message: s };
  }
}

function asHeader(ref: ObjectRef): KubernetesObject {
  return { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } };
}

function describeRef(ref: ObjectRef): string {
  return `${ref.kind}/${ref.name}${ref.namespace ? ` in ${ref.namespace}` : ""}`;
}

function describeObject(obj: KubeObject): string {
  return describeRef({ ...obj, name: obj.metadata.name, namespace: obj.metadata.namespace });
}

class ClientNodeKube implements Kube {
  readonly contextName: string;
  readonly server: string;
  private readonly objects: ObjectApi;
  private readonly core: CoreV1Api;

  constructor(private readonly kc: KubeConfig) {
    this.contextName = kc.getCurrentContext();
    this.server = kc.getCurrentCluster()?.server ?? "";
    this.objects = kc.makeApiClient(ObjectApi);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async apply(obj: KubeObject, options: { dryRun?: boolean; force?: boolean } = {}): Promise<KubeObject> {
    try {
      // force: the installer owns these fields; a hand edit is taken back, as kubectl apply --force-conflicts.
      return (await this.objects.patch(obj, undefined, options.dryRun ? "All" : undefined, FIELD_MANAGER, options.force ?? true, PatchStrategy.ServerSideApply)) as KubeObject;
    } catch (err) {
      throw apiError(err, `applying ${describeObject(obj)}`);
    }
  }

  async create(obj: KubeObject): Promise<KubeObject> {
    try {
      return (await this.objects.create(obj, undefined, undefined, FIELD_MANAGER)) as KubeObject;
    } catch (err) {
      throw apiError(err, `creating ${describeObject(obj)}`);
    }
  }

  async replace(obj: KubeObject): Promise<KubeObject> {
    try {
      return (await this.objects.replace(obj, undefined, undefined, FIELD_MANAGER)) as KubeObject;
    } catch (err) {
      throw apiError(err, `updating ${describeObject(obj)}`);
    }
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    try {
      return (await this.objects.read(asHeader(ref) as never)) as KubeObject;
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined;
      throw apiError(err, `reading ${describeRef(ref)}`);
    }
  }

  async list(apiVersion: string, kind: string, namespace: string | undefined, options: ListOptions = {}): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    try {
      const list = await this.objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, options.fieldSelector, options.labelSelector);
      return { items: list.items as KubeObject[], resourceVersion: list.metadata?.resourceVersion ?? "" };
    } catch (err) {
      throw apiError(err, `listing ${kind}${namespace ? ` in ${namespace}` : ""}`);
    }
  }

  async watch(apiVersion: string, kind: string, namespace: string | undefined, onEvent: (type: WatchEventType, obj: KubeObject) => void, options: ListOptions = {}): Promise<WatchHandle> {
    const path = await this.objects.collectionPath(apiVersion, kind, namespace);
    const watcher = new Watch(this.kc);
    let stopped = false;
    let controller: AbortController | undefined;
    let resourceVersion = "";
    const relist = async (): Promise<void> => {
      const { items, resourceVersion: rv } = await this.list(apiVersion, kind, namespace, options);
      resourceVersion = rv;
      for (const item of items) onEvent("ADDED", { ...item, apiVersion, kind });
    };
    const start = async (): Promise<void> => {
      if (stopped) return;
      const params: Record<string, string | boolean> = { resourceVersion, allowWatchBookmarks: true };
      if (options.labelSelector) params["labelSelector"] = options.labelSelector;
      if (options.fieldSelector) params["fieldSelector"] = options.fieldSelector;
      controller = await watcher.watch(path, params, (phase, obj: KubeObject) => {
        if (phase === "BOOKMARK") {
          resourceVersion = obj.metadata.resourceVersion as string;
          return;
        }
        if (phase === "ERROR") {
          // 410 Gone: our resourceVersion is too old; list again.
          resourceVersion = "";
          return;
        }
        resourceVersion = (obj.metadata?.resourceVersion as string | undefined) ?? resourceVersion;
        onEvent(phase as WatchEventType, obj);
      }, () => {
        // The server ends watches after a while; carry on from where this one stopped.
        if (stopped) return;
        void (resourceVersion ? start() : relist().then(start)).catch(() => setTimeout(() => void relist().then(start).catch(() => undefined), 1000));
      });
    };
    await relist();
    await start();
    return {
      stop() {
        stopped = true;
        controller?.abort();
      },
    };
  }

  async delete(ref: ObjectRef, options: { propagation?: "Background" | "Foreground" | "Orphan" } = {}): Promise<boolean> {
    try {
      await this.objects.delete(asHeader(ref), undefined, undefined, undefined, undefined, options.propagation ?? "Background");
      return true;
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return false;
      throw apiError(err, `deleting ${describeRef(ref)}`);
    }
  }

  async logs(namespace: string, pod: string, container: string, options: { tailLines?: number; previous?: boolean } = {}): Promise<string> {
    try {
      return await this.core.readNamespacedPodLog({ name: pod, namespace, container, tailLines: options.tailLines ?? 20, previous: options.previous ?? false });
    } catch (err) {
      throw apiError(err, `reading the log of ${pod}/${container}`);
    }
  }

  async followLogs(namespace: string, pod: string, container: string, onLine: (line: string) => void, onEnd: (err?: Error) => void): Promise<WatchHandle> {
    let partial = "";
    let ended = false;
    const end = (err?: Error): void => {
      if (ended) return;
      ended = true;
      if (partial) onLine(partial);
      onEnd(err);
    };
    const sink = new Writable({
      write(chunk: Buffer, _enc, callback) {
        const lines = (partial + chunk.toString("utf8")).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) onLine(line.replace(/\r$/, ""));
        callback();
      },
    });
    // The library pipes the response into `sink` and reports neither its end nor its errors:
    // listen on the sink and on the source it announces.
    sink.on("finish", () => end());
    sink.on("pipe", (source: NodeJS.ReadableStream) => source.on("error", (err: Error) => end(stopped ? undefined : err)));
    let stopped = false;
    let controller: AbortController | undefined;
    try {
      controller = await new Log(this.kc).log(namespace, pod, container, sink, { follow: true });
    } catch (err) {
      end(apiError(err, `following the log of ${pod}/${container}`));
    }
    return {
      stop() {
        stopped = true;
        ended = true;
        controller?.abort();
      },
    };
  }

  async exec(namespace: string, pod: string, container: string, command: readonly string[], options: { timeoutMs?: number } = {}): Promise<ExecResult> {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const collect = (into: Buffer[]) => new Writable({ write(chunk: Buffer, _enc, callback) { into.push(chunk); callback(); } });
    const what = `running ${command[0]} in ${pod}/${container}`;
    let socket: { close(): void; once(event: string, listener: () => void): void } | undefined;
    return new Promise<ExecResult>((resolve, reject) => {
      let status: { status?: string; message?: string; details?: { causes?: { reason?: string; message?: string }[] } } | undefined;
      const timer = setTimeout(() => { socket?.close(); reject(new Error(`${what}: no answer within ${(options.timeoutMs ?? 10_000) / 1000} s`)); }, options.timeoutMs ?? 10_000);
      const finish = (): void => {
        clearTimeout(timer);
        const text = (b: Buffer[]) => Buffer.concat(b).toString("utf8");
        // The final status frame carries the exit code: Success, or Failure with an ExitCode cause.
        if (status?.status === "Success") return resolve({ exitCode: 0, stdout: text(out), stderr: text(err) });
        // A kubelet names the exit code in a cause; some runtimes only in the message ("exit status 1").
        const code = status?.details?.causes?.find((c) => c.reason === "ExitCode")?.message
          ?? /exit (?:status|code) (\d+)/.exec(status?.message ?? "")?.[1];
        if (code !== undefined) return resolve({ exitCode: Number(code), stdout: text(out), stderr: text(err) });
        reject(new KubeApiError(`${what}: ${status?.message ?? "the connection closed without an exit status"}`, 500, "ExecFailed"));
      };
      new Exec(this.kc).exec(namespace, pod, container, [...command], collect(out), collect(err), null, false, (s) => { status = s as typeof status; })
        .then((ws) => { socket = ws as unknown as typeof socket; socket?.once("close", finish); })
        .catch((e: unknown) => { clearTimeout(timer); reject(apiError(e, what)); });
    });
  }

  async serverVersion(): Promise<{ major: string; minor: string; gitVersion: string }> {
    try {
      const v = await this.kc.makeApiClient(VersionApi).getCode();
      return { major: v.major, minor: v.minor, gitVersion: v.gitVersion };
    } catch (err) {
      throw apiError(err, "reading the API server's version");
    }
  }

  async canUser(user: string, groups: readonly string[], q: AccessQuestion): Promise<boolean> {
    try {
      const review = await this.kc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
        body: { apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", spec: { user, groups: [...groups], resourceAttributes: { ...q } } },
      });
      return review.status?.allowed ?? false;
    } catch (err) {
      throw apiError(err, `asking whether ${user} may ${q.verb} ${q.resource}`);
    }
  }

  async canI(q: AccessQuestion): Promise<boolean> {
    try {
      const review = await this.kc.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
        body: { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", spec: { resourceAttributes: { ...q } } },
      });
      return review.status?.allowed ?? false;
    } catch (err) {
      throw apiError(err, `asking whether we may ${q.verb} ${q.resource}`);
    }
  }
}

import { Writable } from "node:stream";
import { listContexts, readKubeconfig, resolveAccess, type ConnectOptions } from "./kubeconfig.js";
import { Transport } from "./transport.js";
import {
  KubeApiError,
  type AccessQuestion,
  type ExecResult,
  type Kube,
  type ListOptions,
  type WatchEventType,
  type WatchHandle,
  type WatchOptions,
  type ExecStreams,
  type ExecStreamResult,
} from "./types.js";
import { ListWatch } from "./watch.js";
import { streamExec } from "./exec-stream.js";
import { refOf, type KubeObject, type ObjectRef } from "../facts/objects.js";
import { BUILTIN_RESOURCES } from "../facts/resources.js";
import { FIELD_MANAGER_NAME as FIELD_MANAGER } from "../facts/names.js";

export { listContexts, readKubeconfig, type ConnectOptions };

/** Connects as kubectl would (--kubeconfig, KUBECONFIG, ~/.kube/config, in-cluster); nothing is sent until the first request. */
export function connect(options: ConnectOptions = {}): Kube {
  return new RestKube(options);
}

interface Resource {
  readonly plural: string;
  readonly namespaced: boolean;
}

function describeRef(ref: ObjectRef): string {
  return `${ref.kind}/${ref.name}${ref.namespace ? ` in ${ref.namespace}` : ""}`;
}

const LIST_PAGE = 500;

// v5 is what the API server translates for kubelets itself (1.30+); v4 frames the same for our use.
const EXEC_PROTOCOL = "v5.channel.k8s.io, v4.channel.k8s.io";

function execPath(namespace: string, pod: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/exec`;
}

/**
 * The Kubernetes REST API over Node's https, with only what the installer uses: discovery to
 * find a kind's resource, server-side apply, reads, list-watches, logs, exec and access reviews.
 */
class RestKube implements Kube {
  readonly contextName: string;
  readonly server: string;
  readonly warnings: readonly string[];
  private readonly http: Transport;
  private readonly discovery = new Map<string, Promise<Map<string, Resource> | undefined>>();

  constructor(options: ConnectOptions) {
    const access = resolveAccess(options);
    this.contextName = access.contextName;
    this.server = access.server;
    this.warnings = access.warnings;
    this.http = new Transport(access);
  }

  /** A group-version's kinds, asked once per run (as kubectl caches discovery). */
  private resources(apiVersion: string): Promise<Map<string, Resource> | undefined> {
    let found = this.discovery.get(apiVersion);
    if (!found) {
      const path = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      found = this.http
        .request<{ resources: { name: string; kind: string; namespaced: boolean }[] }>(
          "GET",
          path,
          `discovering ${apiVersion}`,
        )
        .then(
          (list) =>
            new Map(
              list.resources
                .filter((r) => !r.name.includes("/"))
                .map((r) => [r.kind, { plural: r.name, namespaced: r.namespaced }]),
            ),
        )
        .catch((err: unknown) => {
          this.discovery.delete(apiVersion);
          if (err instanceof KubeApiError && err.status === 404) return undefined;
          throw err;
        });
      this.discovery.set(apiVersion, found);
    }
    return found;
  }

  private async collectionPath(apiVersion: string, kind: string, namespace: string | undefined): Promise<string> {
    const resource = BUILTIN_RESOURCES.get(`${apiVersion}/${kind}`) ?? (await this.resources(apiVersion))?.get(kind);
    if (!resource) throw new KubeApiError(`the API server does not serve ${kind} in ${apiVersion}`, 404, "NotFound");
    const prefix = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    return resource.namespaced && namespace
      ? `${prefix}/namespaces/${encodeURIComponent(namespace)}/${resource.plural}`
      : `${prefix}/${resource.plural}`;
  }

  private async objectPath(ref: ObjectRef): Promise<string> {
    return `${await this.collectionPath(ref.apiVersion, ref.kind, ref.namespace)}/${encodeURIComponent(ref.name)}`;
  }

  async apply(obj: KubeObject, options: { dryRun?: boolean; force?: boolean } = {}): Promise<KubeObject> {
    const what = `applying ${describeRef(refOf(obj))}`;
    // force: the installer owns these fields; a hand edit is taken back, as kubectl apply --force-conflicts.
    const query = {
      fieldManager: FIELD_MANAGER,
      force: options.force ?? true,
      dryRun: options.dryRun ? "All" : undefined,
    };
    return this.http.request<KubeObject>("PATCH", await this.objectPath(refOf(obj)), what, {
      query,
      body: obj,
      contentType: "application/apply-patch+yaml",
    });
  }

  async create(obj: KubeObject): Promise<KubeObject> {
    const path = await this.collectionPath(obj.apiVersion, obj.kind, obj.metadata.namespace);
    return this.http.request<KubeObject>("POST", path, `creating ${describeRef(refOf(obj))}`, {
      query: { fieldManager: FIELD_MANAGER },
      body: obj,
    });
  }

  async replace(obj: KubeObject): Promise<KubeObject> {
    return this.http.request<KubeObject>(
      "PUT",
      await this.objectPath(refOf(obj)),
      `updating ${describeRef(refOf(obj))}`,
      { query: { fieldManager: FIELD_MANAGER }, body: obj },
    );
  }

  async scale(ref: ObjectRef, replicas: number): Promise<void> {
    // A merge patch of the scale subresource as the installer's field manager: its next apply sets the count again.
    await this.http.request(
      "PATCH",
      `${await this.objectPath(ref)}/scale`,
      `scaling ${describeRef(ref)} to ${replicas}`,
      {
        query: { fieldManager: FIELD_MANAGER },
        body: { spec: { replicas } },
        contentType: "application/merge-patch+json",
      },
    );
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    try {
      return await this.http.request<KubeObject>("GET", await this.objectPath(ref), `reading ${describeRef(ref)}`);
    } catch (err) {
      // Absent, or of a kind the cluster does not serve (a CRD not installed): either way not there.
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Pages of LIST_PAGE objects, as kubectl reads them: no single answer of the API server grows with the cluster. */
  async list(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    options: ListOptions = {},
  ): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    const what = `listing ${kind}${namespace ? ` in ${namespace}` : ""}`;
    const path = await this.collectionPath(apiVersion, kind, namespace);
    const { pageSize, project, until, ...selectors } = options;
    const items: KubeObject[] = [];
    let next: string | undefined;
    let resourceVersion = "";
    do {
      const page = await this.http.request<{
        items: KubeObject[];
        metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
      }>("GET", path, what, { query: { ...selectors, limit: pageSize ?? LIST_PAGE, continue: next } });
      const kept = page.items.map((i) => (project ? { ...project(i), apiVersion, kind } : { ...i, apiVersion, kind }));
      items.push(...kept);
      resourceVersion = page.metadata?.resourceVersion ?? "";
      next = page.metadata?.continue || undefined;
      if (until && (await until(kept, next ? page.metadata?.remainingItemCount : 0))) break;
    } while (next);
    return { items, resourceVersion };
  }

  async watch(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    onEvent: (type: WatchEventType, obj: KubeObject) => void,
    options: WatchOptions = {},
  ): Promise<WatchHandle> {
    const { onConnection, ...selectors } = options;
    const path = await this.collectionPath(apiVersion, kind, namespace);
    const what = `watching ${kind}${namespace ? ` in ${namespace}` : ""}`;
    const informer = new ListWatch(
      {
        list: () => this.list(apiVersion, kind, namespace, selectors),
        watch: (resourceVersion, onRaw, signal) =>
          this.http.stream(
            path,
            what,
            {
              // The server ends a watch after timeoutSeconds; spread, so watches do not all resume at once.
              watch: 1,
              resourceVersion,
              allowWatchBookmarks: true,
              timeoutSeconds: 240 + Math.floor(Math.random() * 60),
              ...selectors,
            },
            (line) => {
              if (!line.trim()) return;
              const e = JSON.parse(line) as { type: string; object: KubeObject };
              onRaw(e.type, e.type === "ERROR" || e.type === "BOOKMARK" ? e.object : { ...e.object, apiVersion, kind });
            },
            signal,
          ),
      },
      onEvent,
      onConnection ?? (() => undefined),
    );
    await informer.start();
    return { stop: () => informer.stop() };
  }

  async delete(
    ref: ObjectRef,
    options: { propagation?: "Background" | "Foreground" | "Orphan"; resourceVersion?: string } = {},
  ): Promise<boolean> {
    try {
      const preconditions = options.resourceVersion
        ? { preconditions: { resourceVersion: options.resourceVersion } }
        : {};
      await this.http.request("DELETE", await this.objectPath(ref), `deleting ${describeRef(ref)}`, {
        body: {
          apiVersion: "v1",
          kind: "DeleteOptions",
          propagationPolicy: options.propagation ?? "Background",
          ...preconditions,
        },
      });
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return false;
      throw err;
    }
  }

  private logPath(namespace: string, pod: string): string {
    return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`;
  }

  async logs(
    namespace: string,
    pod: string,
    container: string,
    options: { tailLines?: number; previous?: boolean } = {},
  ): Promise<string> {
    const query = { container, tailLines: options.tailLines ?? 20, previous: options.previous ?? false };
    const text = await this.http.request<unknown>(
      "GET",
      this.logPath(namespace, pod),
      `reading the log of ${pod}/${container}`,
      { query },
    );
    return typeof text === "string" ? text : JSON.stringify(text);
  }

  async followLogs(
    namespace: string,
    pod: string,
    container: string,
    onLine: (line: string) => void,
    onEnd: (err?: Error) => void,
  ): Promise<WatchHandle> {
    const abort = new AbortController();
    let stopped = false;
    try {
      const { ended } = await this.http.stream(
        this.logPath(namespace, pod),
        `following the log of ${pod}/${container}`,
        { container, follow: true },
        onLine,
        abort.signal,
      );
      ended.then(
        () => !stopped && onEnd(),
        (err: Error) => !stopped && onEnd(err),
      );
    } catch (err) {
      onEnd(err as Error);
    }
    return {
      stop: () => {
        stopped = true;
        abort.abort();
      },
    };
  }

  async exec(
    namespace: string,
    pod: string,
    container: string,
    command: readonly string[],
    options: { timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    // One decoder for both: the output collected in memory, the whole run bounded by the timeout.
    const out: Buffer[] = [];
    const stdout = new Writable({
      write(chunk: Buffer, _encoding, done) {
        out.push(chunk);
        done();
      },
    });
    const timeoutMs = options.timeoutMs ?? 10_000;
    const what = `running ${command[0]} in ${pod}/${container}`;
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new KubeApiError(`${what}: no exit status within ${timeoutMs / 1000} s`, 504, "ExecFailed")),
      timeoutMs,
    );
    try {
      const r = await this.execStream(namespace, pod, container, command, { stdout, signal: timeout.signal });
      return { exitCode: r.exitCode, stdout: Buffer.concat(out).toString("utf8"), stderr: r.stderr };
    } finally {
      clearTimeout(timer);
    }
  }

  async execStream(
    namespace: string,
    pod: string,
    container: string,
    command: readonly string[],
    streams: ExecStreams,
  ): Promise<ExecStreamResult> {
    const what = `running ${command[0]} in ${pod}/${container}`;
    const { socket, protocol } = await this.http.websocket(
      execPath(namespace, pod),
      { container, command, stdout: true, stderr: true, ...(streams.stdin ? { stdin: true } : {}) },
      EXEC_PROTOCOL,
      what,
    );
    return streamExec(socket, protocol, streams, what);
  }

  async ready(timeoutMs: number): Promise<{ ok: boolean; message: string } | undefined> {
    try {
      await this.http.request<unknown>("GET", "/readyz", "asking the API server whether it is ready", {
        timeoutMs,
        once: true,
      });
      return { ok: true, message: "ready" };
    } catch (err) {
      if (err instanceof KubeApiError && (err.status === 403 || err.status === 401 || err.status === 404))
        return undefined;
      const message = (err as Error).message.replace(/^asking the API server whether it is ready: /, "");
      return {
        ok: false,
        message: err instanceof KubeApiError ? `/readyz answered ${err.status}: ${message.split("\n")[0]}` : message,
      };
    }
  }

  async serverVersion(): Promise<{ major: string; minor: string; gitVersion: string }> {
    const v = await this.http.request<{ major: string; minor: string; gitVersion: string }>(
      "GET",
      "/version",
      "reading the API server's version",
    );
    return { major: v.major, minor: v.minor, gitVersion: v.gitVersion };
  }

  async canUser(user: string, groups: readonly string[], q: AccessQuestion): Promise<boolean> {
    const review = await this.http.request<{ status?: { allowed?: boolean } }>(
      "POST",
      "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      `asking whether ${user} may ${q.verb} ${q.resource}`,
      {
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: { user, groups: [...groups], resourceAttributes: { ...q } },
        },
      },
    );
    return review.status?.allowed ?? false;
  }

  async canI(q: AccessQuestion): Promise<boolean> {
    const review = await this.http.request<{ status?: { allowed?: boolean } }>(
      "POST",
      "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
      `asking whether we may ${q.verb} ${q.resource}`,
      {
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: { resourceAttributes: { ...q } },
        },
      },
    );
    return review.status?.allowed ?? false;
  }
}

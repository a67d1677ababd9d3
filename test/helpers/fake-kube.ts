import { BUILTIN_RESOURCES } from "../../src/facts/resources.js";
import type { KubeObject, ObjectRef } from "../../src/facts/objects.js";
import {
  KubeApiError,
  type AccessQuestion,
  type ExecResult,
  type ExecStreamResult,
  type ExecStreams,
  type Kube,
  type ListOptions,
  type WatchEventType,
  type WatchHandle,
  type WatchOptions,
} from "../../src/kube/types.js";

type Listener = {
  apiVersion: string;
  kind: string;
  namespace: string | undefined;
  labelSelector?: string | undefined;
  onEvent: (type: WatchEventType, obj: KubeObject) => void;
};

/** What a controller does to an object the fake stored: e.g. marks a Deployment rolled out. */
export type Controller = (obj: KubeObject, fake: FakeKube) => KubeObject | undefined;

/**
 * An in-memory cluster behind the `Kube` interface, for unit tests of code above `kube/`:
 * objects with resourceVersions and generations, create conflicts (409 AlreadyExists),
 * optimistic concurrency on replace and on delete preconditions (409 Conflict), a namespace
 * that must exist, server-side apply as a merge (dry runs store nothing), label and simple field
 * selectors, watches (existing objects first, as a list-then-watch), and controllers that tests
 * plug in. It counts every request, so a test can say what was read how often. It is not the
 * API server: anything that depends on the server's own behaviour is an end-to-end test.
 */
export class FakeKube implements Kube {
  readonly contextName = "fake";
  readonly server = "https://fake.invalid";
  readonly warnings: readonly string[] = [];
  private readonly objects = new Map<string, KubeObject>();
  private readonly listeners = new Set<Listener>();
  private version = 1;
  /** Every request, as `verb kind/name`: `get Secret/mathison-secrets`. */
  readonly requests: string[] = [];
  /** The controllers run after every write that stored something. */
  readonly controllers: Controller[] = [];
  /** Which access questions are answered no; every other is yes. */
  denied: (q: AccessQuestion) => boolean = () => false;
  /** What `exec` answers. */
  execAnswer: (pod: string, command: readonly string[]) => ExecResult = () => ({ exitCode: 0, stdout: "", stderr: "" });
  /** A request that fails: the first matching `verb kind/name` throws this error. */
  failing: { readonly match: RegExp; readonly error: Error } | undefined;
  serverVersionAnswer = { major: "1", minor: "36", gitVersion: "v1.36.3" };

  constructor(objects: readonly KubeObject[] = []) {
    for (const o of objects) this.put(structuredClone(o));
  }

  /** The object as stored, or undefined. */
  peek(ref: ObjectRef): KubeObject | undefined {
    const o = this.objects.get(keyOf(ref));
    return o ? structuredClone(o) : undefined;
  }

  all(kind?: string): KubeObject[] {
    return [...this.objects.values()].filter((o) => !kind || o.kind === kind).map((o) => structuredClone(o));
  }

  /** How many requests matched, e.g. `count(/^get Ingress\//)`. */
  count(match: RegExp): number {
    return this.requests.filter((r) => match.test(r)).length;
  }

  /** Stores an object as a controller or another client would (no checks), telling the watches. */
  put(obj: KubeObject): KubeObject {
    const key = keyOf(refOf(obj));
    const before = this.objects.get(key);
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.version);
    stored.metadata.uid ??= before?.metadata.uid ?? `uid-${this.version}`;
    stored.metadata.creationTimestamp ??= before?.metadata.creationTimestamp ?? new Date().toISOString();
    if (stored.spec !== undefined) {
      const changed = !before || JSON.stringify(before.spec) !== JSON.stringify(stored.spec);
      stored.metadata.generation = ((before?.metadata.generation as number | undefined) ?? 0) + (changed ? 1 : 0);
    }
    this.objects.set(key, stored);
    this.tell(before ? "MODIFIED" : "ADDED", stored);
    return structuredClone(stored);
  }

  private tell(type: WatchEventType, obj: KubeObject): void {
    for (const l of this.listeners) {
      if (l.apiVersion !== obj.apiVersion || l.kind !== obj.kind) continue;
      if (l.namespace !== undefined && l.namespace !== obj.metadata.namespace) continue;
      if (!matchesLabels(obj, l.labelSelector)) continue;
      const copy = structuredClone(obj);
      queueMicrotask(() => l.onEvent(type, copy));
    }
  }

  private request(verb: string, ref: { kind: string; name?: string }): void {
    const line = `${verb} ${ref.kind}/${ref.name ?? ""}`;
    this.requests.push(line);
    if (this.failing?.match.test(line)) throw this.failing.error;
  }

  private stored(obj: KubeObject): KubeObject {
    const saved = this.put(obj);
    for (const control of this.controllers) {
      const next = control(this.peek(refOf(saved))!, this);
      if (next) this.put(next);
    }
    return this.peek(refOf(saved))!;
  }

  private mustHaveNamespace(obj: KubeObject): void {
    const ns = obj.metadata.namespace as string | undefined;
    if (ns && !this.objects.has(keyOf({ apiVersion: "v1", kind: "Namespace", name: ns }))) {
      throw new KubeApiError(`namespaces "${ns}" not found`, 404, "NotFound");
    }
  }

  async apply(obj: KubeObject, options: { dryRun?: boolean; force?: boolean } = {}): Promise<KubeObject> {
    this.request(options.dryRun ? "dry-run" : "apply", { kind: obj.kind, name: obj.metadata.name });
    this.mustHaveNamespace(obj);
    const live = this.objects.get(keyOf(refOf(obj)));
    const merged: KubeObject = live
      ? {
          ...structuredClone(live),
          ...structuredClone(obj),
          metadata: { ...structuredClone(live.metadata), ...structuredClone(obj.metadata) },
        }
      : structuredClone(obj);
    if (options.dryRun) return merged;
    if (
      live &&
      JSON.stringify({ ...merged, metadata: { ...merged.metadata, resourceVersion: undefined } }) ===
        JSON.stringify({ ...live, metadata: { ...live.metadata, resourceVersion: undefined } })
    ) {
      return structuredClone(live);
    }
    return this.stored(merged);
  }

  async create(obj: KubeObject): Promise<KubeObject> {
    this.request("create", { kind: obj.kind, name: obj.metadata.name });
    this.mustHaveNamespace(obj);
    if (this.objects.has(keyOf(refOf(obj))))
      throw new KubeApiError(`${obj.kind} "${obj.metadata.name}" already exists`, 409, "AlreadyExists");
    return this.stored(obj);
  }

  async replace(obj: KubeObject): Promise<KubeObject> {
    this.request("replace", { kind: obj.kind, name: obj.metadata.name });
    const live = this.objects.get(keyOf(refOf(obj)));
    if (!live) throw new KubeApiError(`${obj.kind} "${obj.metadata.name}" not found`, 404, "NotFound");
    if (obj.metadata.resourceVersion !== live.metadata.resourceVersion) {
      throw new KubeApiError(
        `Operation cannot be fulfilled on ${obj.kind} "${obj.metadata.name}": the object has been modified`,
        409,
        "Conflict",
      );
    }
    return this.stored(obj);
  }

  async scale(ref: ObjectRef, replicas: number): Promise<void> {
    this.request("scale", ref);
    const live = this.objects.get(keyOf(ref));
    if (!live) throw new KubeApiError(`${ref.kind} "${ref.name}" not found`, 404, "NotFound");
    this.stored({ ...structuredClone(live), spec: { ...live.spec, replicas } });
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    this.request("get", ref);
    return this.peek(ref);
  }

  async list(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    options: ListOptions = {},
  ): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    this.request("list", { kind });
    const items = [...this.objects.values()]
      .filter(
        (o) =>
          o.apiVersion === apiVersion &&
          o.kind === kind &&
          (namespace === undefined || o.metadata.namespace === namespace),
      )
      .filter((o) => matchesLabels(o, options.labelSelector) && matchesFields(o, options.fieldSelector))
      .map((o) => structuredClone(o));
    const kept = options.project ? items.map(options.project) : items;
    // Pages as the API server gives them, so a reader that stops early is tested as it runs.
    const size = options.pageSize ?? 500;
    for (let i = 0; options.until && i < kept.length; i += size) {
      const remaining = Math.max(0, kept.length - i - size);
      if (await options.until(kept.slice(i, i + size), remaining))
        return { items: kept.slice(0, i + size), resourceVersion: String(this.version) };
    }
    return { items: kept, resourceVersion: String(this.version) };
  }

  /** Watches started and not stopped. */
  openWatches(): number {
    return this.listeners.size;
  }

  async watch(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    onEvent: (type: WatchEventType, obj: KubeObject) => void,
    options: WatchOptions = {},
  ): Promise<WatchHandle> {
    this.request("watch", { kind });
    const listener: Listener = { apiVersion, kind, namespace, labelSelector: options.labelSelector, onEvent };
    const existing = (await this.list(apiVersion, kind, namespace, options)).items;
    this.requests.pop();
    queueMicrotask(() => {
      for (const o of existing) onEvent("ADDED", o);
    });
    this.listeners.add(listener);
    return { stop: () => this.listeners.delete(listener) };
  }

  async delete(ref: ObjectRef, options: { resourceVersion?: string } = {}): Promise<boolean> {
    this.request("delete", ref);
    const key = keyOf(ref);
    const live = this.objects.get(key);
    if (!live) return false;
    if (options.resourceVersion !== undefined && options.resourceVersion !== live.metadata.resourceVersion) {
      throw new KubeApiError(`Precondition failed: the ${ref.kind} has been modified`, 409, "Conflict");
    }
    this.objects.delete(key);
    this.tell("DELETED", live);
    if (ref.kind === "Namespace")
      for (const o of this.all()) if (o.metadata.namespace === ref.name) void this.delete(refOf(o));
    return true;
  }

  /** What `logs` answers for a pod (its container's log); "" by default. */
  logsAnswer: (pod: string) => string = () => "";

  async logs(_namespace: string, pod: string): Promise<string> {
    return this.logsAnswer(pod);
  }

  async followLogs(
    _ns: string,
    _pod: string,
    _container: string,
    _onLine: (line: string) => void,
    onEnd: (err?: Error) => void,
  ): Promise<WatchHandle> {
    queueMicrotask(() => onEnd());
    return { stop: () => undefined };
  }

  async exec(_namespace: string, pod: string, _container: string, command: readonly string[]): Promise<ExecResult> {
    this.request("exec", { kind: "Pod", name: pod });
    return this.execAnswer(pod, command);
  }

  /** The streamed exec writes `execAnswer`'s stdout into the sink and reads stdin to its end (kept in `stdinSeen`). */
  async execStream(
    _namespace: string,
    pod: string,
    _container: string,
    command: readonly string[],
    streams: ExecStreams,
  ): Promise<ExecStreamResult> {
    this.request("exec", { kind: "Pod", name: pod });
    if (streams.stdin) {
      const parts: Buffer[] = [];
      for await (const chunk of streams.stdin) parts.push(Buffer.from(chunk as Buffer));
      this.stdinSeen = Buffer.concat(parts);
    }
    const answer = this.execAnswer(pod, command);
    streams.stdout?.write(answer.stdout);
    return { exitCode: answer.exitCode, stderr: answer.stderr };
  }

  /** What the last streamed exec read from its stdin. */
  stdinSeen: Buffer | undefined;

  async canI(question: AccessQuestion): Promise<boolean> {
    return !this.denied(question);
  }

  async canUser(_user: string, _groups: readonly string[], question: AccessQuestion): Promise<boolean> {
    return !this.denied(question);
  }

  async ready(): Promise<{ ok: boolean; message: string }> {
    return { ok: true, message: "ok" };
  }

  async serverVersion(): Promise<{ major: string; minor: string; gitVersion: string }> {
    return this.serverVersionAnswer;
  }
}

function refOf(obj: KubeObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata.name,
    namespace: obj.metadata.namespace as string | undefined,
  };
}

function keyOf(ref: ObjectRef): string {
  const namespaced = BUILTIN_RESOURCES.get(`${ref.apiVersion}/${ref.kind}`)?.namespaced ?? ref.namespace !== undefined;
  return `${ref.apiVersion}/${ref.kind}/${namespaced ? (ref.namespace ?? "") : ""}/${ref.name}`;
}

function matchesLabels(obj: KubeObject, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(",").every((term) => {
    const [k, v] = term.split("=");
    return obj.metadata.labels?.[k!] === v;
  });
}

/** `a.b=c` and `a.b!=c` terms on the object's fields, as the API server's field selectors. */
function matchesFields(obj: KubeObject, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(",").every((term) => {
    const negated = term.includes("!=");
    const [path, want] = term.split(negated ? "!=" : "=");
    const have = path!.split(".").reduce<any>((o, k) => o?.[k], obj);
    return negated ? String(have ?? "") !== want : String(have ?? "") === want;
  });
}

/**
 * The controllers of a healthy cluster, at once: Deployments and StatefulSets rolled out, Jobs
 * complete, claims bound, Ingresses given an address.
 */
export const healthyCluster: Controller = (obj) => {
  const generation = obj.metadata.generation as number | undefined;
  const replicas = (obj.spec?.replicas as number | undefined) ?? 1;
  switch (obj.kind) {
    case "Deployment":
      if (obj.status?.observedGeneration === generation) return undefined;
      return {
        ...obj,
        status: {
          observedGeneration: generation,
          replicas,
          updatedReplicas: replicas,
          readyReplicas: replicas,
          availableReplicas: replicas,
        },
      };
    case "StatefulSet":
      if (obj.status?.observedGeneration === generation) return undefined;
      return {
        ...obj,
        status: {
          observedGeneration: generation,
          replicas,
          readyReplicas: replicas,
          updatedReplicas: replicas,
          currentRevision: "r1",
          updateRevision: "r1",
        },
      };
    case "Pod":
      // The installer's client pod (your own database's checks) runs at once.
      if (obj.status?.phase || obj.metadata.labels?.["app.kubernetes.io/component"] !== "database-client")
        return undefined;
      return { ...obj, status: { phase: "Running" } };
    case "Job":
      if (obj.status?.conditions) return undefined;
      return { ...obj, status: { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] } };
    default:
      return undefined;
  }
};

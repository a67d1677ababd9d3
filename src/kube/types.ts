import type { KubeObject, ObjectRef } from "../facts/objects.js";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface WatchHandle {
  stop(): void;
}

export interface ListOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Objects per page (default 500): a smaller page is a smaller answer held at once. */
  readonly pageSize?: number;
  /** What to keep of each object, as each page arrives: the rest is garbage before the next page is read. */
  readonly project?: (obj: KubeObject) => KubeObject;
  /**
   * Told of each page as it arrives (projected), with how many objects the server says are left
   * (when it says); `true` stops the list there: what was read is returned.
   */
  readonly until?: (page: readonly KubeObject[], remaining: number | undefined) => boolean | Promise<boolean>;
}

/** A watch's connection to the API server: lost (since when, why), back, or given up on. */
export interface ConnectionState {
  readonly connected: boolean;
  readonly since: number;
  readonly error?: string;
  /** Lost for too long: the watch stopped and will not come back. */
  readonly gaveUp: boolean;
}

export interface WatchOptions extends Pick<ListOptions, "labelSelector" | "fieldSelector"> {
  /** Told when the watch loses the API server and when it is back (a reconnect after a normal end is not a loss). */
  readonly onConnection?: (state: ConnectionState) => void;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Where a streamed exec's output goes and what its stdin reads. */
export interface ExecStreams {
  /** Takes stdout as it arrives; while its write returns false the connection pauses, so memory does not grow. */
  readonly stdout?: NodeJS.WritableStream;
  /** Sent as the command's stdin, then closed (v5.channel.k8s.io), so the command sees its end. */
  readonly stdin?: NodeJS.ReadableStream;
  /** Stops the command (the connection closes): the promise rejects. */
  readonly signal?: AbortSignal;
}

/** How a streamed exec ended: its exit code and the last 64 KiB of its stderr. */
export interface ExecStreamResult {
  readonly exitCode: number;
  readonly stderr: string;
}

export interface AccessQuestion {
  readonly verb: string;
  readonly resource: string;
  readonly group?: string;
  readonly subresource?: string;
  readonly namespace?: string;
}

/**
 * Everything the installer asks of a cluster. The only implementation talks to a real API server
 * over Node's https (src/kube/client.ts); nothing else speaks HTTP to it.
 */
export interface Kube {
  /** The kubeconfig context and API server in use, for messages. */
  readonly contextName: string;
  readonly server: string;
  /** What the person should know about how the cluster is reached (credentials over plain http). */
  readonly warnings?: readonly string[];
  /**
   * Server-side apply with the installer's field manager; `dryRun` writes nothing. `force`
   * (default true) takes fields other managers own; without it such fields are a 409 whose
   * `causes` name them.
   */
  apply(obj: KubeObject, options?: { dryRun?: boolean; force?: boolean }): Promise<KubeObject>;
  /** POST: fails with 409 AlreadyExists when the object exists, so no run overwrites another's. */
  create(obj: KubeObject): Promise<KubeObject>;
  /** PUT with the object's resourceVersion: fails with 409 Conflict if it changed since it was read. */
  replace(obj: KubeObject): Promise<KubeObject>;
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
  /** Sets a workload's replicas through its scale subresource, as the installer's field manager (so its next apply sets them again). */
  scale(ref: ObjectRef, replicas: number): Promise<void>;
  list(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    options?: ListOptions,
  ): Promise<{ items: KubeObject[]; resourceVersion: string }>;
  /**
   * A list-then-watch kept going until stopped: resumed when the server ends it, retried with
   * backoff and jitter when the connection fails, re-listed on 410 Gone (objects deleted meanwhile
   * arrive as DELETED).
   */
  watch(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    onEvent: (type: WatchEventType, obj: KubeObject) => void,
    options?: WatchOptions,
  ): Promise<WatchHandle>;
  /** With `resourceVersion`: only if the object is still that version (409 otherwise), in one request. */
  delete(
    ref: ObjectRef,
    options?: { propagation?: "Background" | "Foreground" | "Orphan"; resourceVersion?: string },
  ): Promise<boolean>;
  /** The last lines of a container's log. */
  logs(
    namespace: string,
    pod: string,
    container: string,
    options?: { tailLines?: number; previous?: boolean },
  ): Promise<string>;
  /** Streams a container's log line by line until it ends or the handle is stopped; `onEnd` gets the error, if any. */
  followLogs(
    namespace: string,
    pod: string,
    container: string,
    onLine: (line: string) => void,
    onEnd: (err?: Error) => void,
  ): Promise<WatchHandle>;
  /**
   * Runs a command in a container through `pods/exec`, as `kubectl exec` does, without stdin or a
   * TTY; resolves when it ends. Never put a secret in `command`: it travels in the URL.
   */
  exec(
    namespace: string,
    pod: string,
    container: string,
    command: readonly string[],
    options?: { timeoutMs?: number },
  ): Promise<ExecResult>;
  /**
   * `exec` for data of any size: stdout streamed into a sink and stdin streamed from a source,
   * neither held in memory (a backup, a restore). Never put a secret in `command`.
   */
  execStream(
    namespace: string,
    pod: string,
    container: string,
    command: readonly string[],
    streams: ExecStreams,
  ): Promise<ExecStreamResult>;
  canI(question: AccessQuestion): Promise<boolean>;
  /** The same question for another user (`kubectl auth can-i --as`), by SubjectAccessReview. */
  canUser(user: string, groups: readonly string[], question: AccessQuestion): Promise<boolean>;
  /**
   * Whether the API server says it is ready to serve (`/readyz`), answered within `timeoutMs`,
   * without retries: a draining or unreachable server says no at once. `undefined` when the
   * cluster does not let us ask (403): the caller cannot tell.
   */
  ready?(timeoutMs: number): Promise<{ readonly ok: boolean; readonly message: string } | undefined>;
  /** The API server's version, as `kubectl version` shows it: `{ major: "1", minor: "36", gitVersion: "v1.36.3" }`. */
  serverVersion(): Promise<{ major: string; minor: string; gitVersion: string }>;
}

/** One cause of an API error: for apply conflicts, the field and the manager that owns it. */
export interface ApiErrorCause {
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
}

/** An error from the API server, with what a user needs to see. */
export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string | undefined,
    readonly causes: readonly ApiErrorCause[] = [],
  ) {
    super(message);
  }
}

/** The API server could not be reached, or refused the credentials. */
export class ClusterAccessError extends Error {}

import type { ObjectRef } from "../facts/objects.js";
import type { Kube, ListOptions } from "./types.js";

/** A `Kube` that reads each object (and each list) at most once, and counts what it did read. */
export interface ReadOnceKube extends Kube {
  /** Requests that reached the API server through `get` and `list`, for tests and the benchmark. */
  readonly reads: () => number;
}

/**
 * The reads of one phase of a run (plan and preflight; verification) share what they fetched:
 * the plan's live objects are the ownership check's, and the checks that all look at the Ingress
 * read it once. Only for phases that do not change what they read: writes go through untouched
 * and forget nothing. A failed read is not kept, so a later caller asks again.
 */
export function readOnce(kube: Kube): ReadOnceKube {
  const seen = new Map<string, Promise<unknown>>();
  let reads = 0;
  function once<T>(key: string, read: () => Promise<T>): Promise<T> {
    const known = seen.get(key) as Promise<T> | undefined;
    if (known) return known;
    reads++;
    const reading = read();
    seen.set(key, reading);
    reading.catch(() => seen.delete(key));
    return reading;
  }
  const getKey = (r: ObjectRef) => `get ${r.apiVersion} ${r.kind} ${r.namespace ?? ""} ${r.name}`;
  return Object.assign(Object.create(kube) as Kube, {
    get: (ref: ObjectRef) => once(getKey(ref), () => kube.get(ref)),
    list: (apiVersion: string, kind: string, namespace: string | undefined, options?: ListOptions) =>
      // A projection or a reader that stops early is code, not data: such lists are read every time.
      options?.project || options?.until
        ? kube.list(apiVersion, kind, namespace, options)
        : once(
            `list ${apiVersion} ${kind} ${namespace ?? ""} ${options?.labelSelector ?? ""} ${options?.fieldSelector ?? ""}`,
            () => kube.list(apiVersion, kind, namespace, options),
          ),
    reads: () => reads,
  });
}

import type { Kube } from "../kube/types.js";
import type { Readiness } from "./readiness.js";
import { NamespaceView } from "./view.js";

/** How a wait outside a stage ended when it did not end ready. */
export class WaitError extends Error {
  constructor(
    message: string,
    readonly why: "failed" | "timeout" | "interrupted" | "connection",
  ) {
    super(message);
  }
}

export interface WaitUntilOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Waits, through the namespace's watches (as a stage's wait does, never by polling), until
 * `check` says ready: evaluated at once and on every change the API server pushes. A failed
 * state, the timeout, an interrupt or a connection the watches gave up on ends it with a
 * WaitError naming `what` and the last message.
 */
export async function waitUntil(
  kube: Kube,
  namespace: string,
  what: string,
  check: (view: NamespaceView) => Readiness,
  options: WaitUntilOptions,
): Promise<void> {
  const view = new NamespaceView(kube, namespace);
  let last = "not seen yet";
  try {
    await new Promise<void>((resolve, reject) => {
      const end = (err?: WaitError): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        if (err) reject(err);
        else resolve();
      };
      let listed = false;
      // Before every watch has its first list, "no pods left" may only mean "not read yet".
      const evaluate = (): void => {
        if (!listed) return;
        const lost = view.connection();
        const r = check(view);
        last = r.message;
        if (lost?.gaveUp)
          end(new WaitError(`${what}: the API server is unreachable (${lost.error ?? "watch lost"})`, "connection"));
        else if (r.state === "ready") end();
        else if (r.state === "failed") end(new WaitError(`${what}: ${r.message}`, "failed"));
      };
      const onAbort = (): void => end(new WaitError("interrupted", "interrupted"));
      const timer = setTimeout(
        () => end(new WaitError(`${what}: not within ${options.timeoutMs / 1000} s (${last})`, "timeout")),
        options.timeoutMs,
      );
      if (options.signal?.aborted) {
        onAbort();
        return;
      }
      options.signal?.addEventListener("abort", onAbort, { once: true });
      view.onChange(evaluate);
      view.start().then(
        () => {
          listed = true;
          evaluate();
        },
        (err: Error) => end(new WaitError(`${what}: ${err.message}`, "connection")),
      );
    });
  } finally {
    view.stop();
  }
}

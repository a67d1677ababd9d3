import { refOf } from "../facts/objects.js";
import type { Kube } from "../kube/types.js";
import type { ApplyAction } from "./events.js";
import type { ObjectChange } from "./plan.js";
import type { ObjectRef, KubeObject } from "../facts/objects.js";

const GONE_TIMEOUT_MS = 30_000;

/** Waits until a deleted object is gone (its name free for a new one, its finalizers done). */
export async function waitUntilGone(
  kube: Kube,
  ref: ObjectRef,
  signal?: AbortSignal,
  timeoutMs = GONE_TIMEOUT_MS,
  onStillThere: () => void = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let first = true; await kube.get(ref); first = false) {
    if (first) onStillThere();
    if (Date.now() > deadline || signal?.aborted)
      throw new Error(`${ref.kind}/${ref.name} was deleted but is still there after ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Makes one planned change. Objects the plan found unchanged are not written. The Secret is
 * created, never blindly applied: if it appeared since the plan (another run), the create fails
 * rather than overwrite a password the database was initialised with; a requested change to it
 * carries the resourceVersion the plan read.
 */
export async function applyChange(
  kube: Kube,
  change: ObjectChange,
  signal?: AbortSignal,
): Promise<{ action: ApplyAction; result: KubeObject | undefined }> {
  const { desired, live } = change;
  switch (change.action) {
    case "unchanged":
      return { action: "unchanged", result: live };
    case "delete":
      await kube.delete(refOf(desired), { propagation: "Background" });
      return { action: "deleted", result: undefined };
    case "replace":
      if (live) {
        await kube.delete(refOf(desired), { propagation: "Background" });
        await waitUntilGone(kube, refOf(desired), signal);
      }
      return { action: "created", result: await kube.apply(desired) };
    case "create":
    case "change": {
      if (desired.kind === "Secret") {
        if (!live) return { action: "created", result: await kube.create(desired) };
        const guarded = structuredClone(desired);
        guarded.metadata.resourceVersion = live.metadata.resourceVersion;
        return { action: "configured", result: await kube.apply(guarded) };
      }
      const result = await kube.apply(desired);
      const action = !live
        ? "created"
        : live.metadata.resourceVersion === result.metadata.resourceVersion
          ? "unchanged"
          : "configured";
      return { action, result };
    }
  }
}

import { objectRef } from "../facts/objects.js";
import type { Kube } from "../kube/types.js";
import type { StageId } from "../render/stages.js";
import { waitUntilGone } from "./apply.js";
import type { Reporter, RunOutcome } from "./events.js";
import { applyFailure, StageFailure } from "./failure.js";
import type { ObjectRef } from "../facts/objects.js";

/** Objects deleted together, then waited on until gone, before the next group. */
export interface RemovalGroup {
  readonly id: StageId;
  readonly title: string;
  readonly refs: readonly ObjectRef[];
}

interface RemovalOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs: number;
  readonly kept?: readonly string[];
}

/**
 * Deletes group by group (the install's stages in reverse), each object with background
 * propagation, and waits until every object of a group is gone, so the output says what is
 * really removed; the same events as an install, with `deleted` as the action.
 */
export async function removeGroups(
  groups: readonly RemovalGroup[],
  namespace: string,
  kube: Kube,
  reporter: Reporter,
  options: RemovalOptions,
): Promise<RunOutcome> {
  const started = Date.now();
  const total = groups.reduce((n, g) => n + g.refs.length, 0);
  const count = { removed: 0 };
  for (const [index, group] of groups.entries()) {
    const stage = (status: "running" | "done" | "failed", elapsedMs: number) =>
      reporter.event({
        event: "stage",
        stage: group.id,
        index,
        total: groups.length,
        title: group.title,
        status,
        elapsedMs,
      });
    const groupStart = Date.now();
    stage("running", 0);
    try {
      if (options.signal?.aborted)
        throw new StageFailure("interrupted", "Interrupted", "interrupted before this group", "");
      await Promise.all(group.refs.map((ref) => removeOne(kube, ref, group.id, reporter, options, count)));
    } catch (err) {
      const failed = failureOf(group, err, reporter, options);
      stage("failed", Date.now() - groupStart);
      reporter.event({
        event: "done",
        ok: false,
        outcome: failed.outcome,
        elapsedMs: Date.now() - started,
        applied: count.removed,
        total,
        message: failed.message,
        resume: `${count.removed} of ${total} objects deleted (stopped at: ${group.title}). Re-run the same uninstall to finish: what is gone stays gone.`,
      });
      return failed.outcome;
    }
    stage("done", Date.now() - groupStart);
  }
  reporter.event({
    event: "done",
    ok: true,
    outcome: "ok",
    elapsedMs: Date.now() - started,
    applied: count.removed,
    total,
    message: `Mathison was removed from namespace ${namespace}`,
    ...(options.kept?.length ? { next: options.kept } : {}),
  });
  return "ok";
}

/** One object deleted and waited on until gone, saying so when it takes a while (finalizers, dependents). */
async function removeOne(
  kube: Kube,
  ref: ObjectRef,
  stage: StageId,
  reporter: Reporter,
  options: RemovalOptions,
  count: { removed: number },
): Promise<void> {
  const object = objectRef(ref);
  const existed = await kube.delete(ref, { propagation: "Background" });
  reporter.event({ event: "apply", stage, object, action: existed ? "deleted" : "unchanged" });
  let waited = false;
  await waitUntilGone(kube, ref, options.signal, options.timeoutMs, () => {
    waited = true;
    reporter.event({
      event: "status",
      stage,
      object,
      state: "pending",
      message: "deleting: waiting until it is gone (finalizers, dependents)",
    });
  });
  count.removed++;
  if (waited) reporter.event({ event: "status", stage, object, state: "ready", message: "gone" });
}

/** A group that could not be removed: its `failed` event, and the run's outcome. */
function failureOf(
  group: RemovalGroup,
  err: unknown,
  reporter: Reporter,
  options: RemovalOptions,
): { readonly outcome: RunOutcome; readonly message: string } {
  const f = applyFailure(err, undefined);
  const interrupted = options.signal?.aborted === true;
  const outcome: RunOutcome = interrupted ? "interrupted" : f.outcome === "apply-failed" ? "wait-failed" : f.outcome;
  reporter.event({
    event: "failed",
    stage: group.id,
    reason: interrupted ? "Interrupted" : f.reason,
    message: f.message,
    hint: "kubectl get on the object shows what holds it (finalizers, a terminating namespace)",
    logs: [],
  });
  return { outcome, message: f.message };
}

import { ClusterAccessError, KubeApiError } from "../kube/types.js";
import type { StageId } from "../render/stages.js";
import type { RunOutcome } from "./events.js";

/** Why a stage stopped the run. */
export class StageFailure extends Error {
  constructor(
    readonly outcome: RunOutcome,
    readonly reason: string,
    message: string,
    readonly hint: string,
    readonly object?: string,
    readonly logs: readonly string[] = [],
    /** Whether running the same command again can succeed without fixing anything first. */
    readonly retryable: boolean = true,
  ) {
    super(message);
  }

  withLogs(logs: readonly string[]): StageFailure {
    return new StageFailure(this.outcome, this.reason, this.message, this.hint, this.object, logs, this.retryable);
  }
}

export function applyFailure(err: unknown, object: string | undefined): StageFailure {
  if (err instanceof StageFailure) return err;
  if (err instanceof ClusterAccessError) {
    return new StageFailure(
      "cluster-access",
      "ClusterUnreachable",
      err.message,
      "check that the cluster is up and your kubeconfig's context and credentials (kubectl cluster-info)",
      object,
    );
  }
  if (err instanceof KubeApiError) {
    if (err.status === 403) {
      return new StageFailure(
        "apply-failed",
        err.reason ?? "Forbidden",
        err.message,
        "your credentials may not do this: an installer needs to create namespaces, ClusterRoles and workloads (cluster-admin or equivalent)",
        object,
        [],
        false,
      );
    }
    const invalid = err.status === 422 || err.status === 400;
    return new StageFailure(
      "apply-failed",
      err.reason ?? `HTTP${err.status}`,
      err.message,
      invalid
        ? "the API server rejected the object as invalid: the message names the field"
        : "the API server refused the request: the message says why",
      object,
      [],
      !invalid,
    );
  }
  return new StageFailure(
    "apply-failed",
    "Error",
    (err as Error).message ?? String(err),
    "an unexpected error: re-run to resume; report it if it persists",
    object,
  );
}

export function failureHint(stage: StageId, reason: string): string {
  if (stage === "migrate")
    return "the database migration failed: its log above says why. web and worker were not changed; fix the cause and re-run: the migration runs again";
  if (reason === "ProgressDeadlineExceeded")
    return "the new pods never became ready: kubectl describe on them shows why";
  return "kubectl describe on the object and its pods shows why";
}

/** What to tell a user after a failure: re-run only where a re-run can succeed. */
export function resumeAdvice(failure: StageFailure, appliedSummary: string): string {
  if (failure.outcome === "interrupted" || failure.outcome === "timeout" || failure.outcome === "cluster-access") {
    return `${appliedSummary}. Re-run the same command to resume: applied objects are left unchanged and the install carries on from there.`;
  }
  if (!failure.retryable)
    return `${appliedSummary}. A re-run fails the same way until the cause is fixed: ${failure.hint}. Then re-run the same command to resume.`;
  return `${appliedSummary}. Fix the cause above, then re-run the same command to resume: applied objects are left unchanged${failure.object?.startsWith("Job/") ? ", the migration runs again" : ""} and the install carries on from there.`;
}

import type { BackupManifest } from "../engine/backup-files.js";
import type { Reporter, RunOutcome } from "../engine/events.js";
import type { Readiness } from "../engine/readiness.js";
import type { NamespaceView } from "../engine/view.js";
import { waitUntil, WaitError } from "../engine/wait-until.js";
import type { ObjectRef } from "../facts/objects.js";
import type { Kube } from "../kube/types.js";
import type { InstallState } from "../record/store.js";
import { ExitCode, type ExitCodeValue } from "../base/exit-codes.js";
import { invoked } from "../base/invocation.js";
import { Stop } from "./locked.js";

// What every step of a restore shares: the run, its bounded waits, and the one way it stops
// (what to run to finish it or to go back).

/** A restore under way: its cluster, the install, the checked backup, and what the steps need of its options. */
export interface RestoreRun {
  readonly kube: Kube;
  readonly state: InstallState;
  readonly manifest: BackupManifest;
  readonly options: { readonly file: string; readonly timeoutMs: number };
  readonly reporter: Reporter;
  readonly signal: AbortSignal;
}

/**
 * Waits through the namespace's watches (engine/wait-until.ts) until ready; a failed state, the
 * timeout, an interrupt or a lost API server stops the restore, saying how to go on.
 */
export async function until(run: RestoreRun, what: string, check: (view: NamespaceView) => Readiness): Promise<void> {
  try {
    await waitUntil(run.kube, run.state.namespace, what, check, {
      timeoutMs: run.options.timeoutMs,
      signal: run.signal,
    });
  } catch (err) {
    if (!(err instanceof WaitError)) throw err;
    const [code, outcome] = WAIT_ENDS[err.why];
    throw stopped(run, err.message, code, outcome);
  }
}

const WAIT_ENDS: Readonly<Record<WaitError["why"], readonly [ExitCodeValue, RunOutcome]>> = {
  failed: [ExitCode.wait, "wait-failed"],
  timeout: [ExitCode.wait, "timeout"],
  interrupted: [ExitCode.interrupted, "interrupted"],
  connection: [ExitCode.clusterAccess, "cluster-access"],
};

/** A restore that stopped half-way: what to run to finish it or to go back. */
export function stopped(run: RestoreRun, why: string, code: ExitCodeValue, outcome: RunOutcome): Stop {
  const ns = run.state.namespace;
  return new Stop(
    code,
    `mathison-install: the restore stopped: ${why}\n  web and worker may be stopped: run ${invoked()} restore ${run.options.file} --namespace ${ns} again, or ${invoked()} install --namespace ${ns} to start them as they were`,
    outcome,
  );
}

/**
 * Cleaning up after a restore that stopped, bounded (an interrupted run must end within 2 s): its
 * pg_restore goes on in the pod without us, and the cluster may not answer (the next run cleans up then).
 */
export async function withinSeconds(seconds: number, work: Promise<unknown>): Promise<void> {
  await Promise.race([
    work.catch(() => undefined),
    new Promise((resolve) => setTimeout(resolve, seconds * 1000).unref()),
  ]);
}

/** Waits until the object no longer exists. */
export function untilGone(run: RestoreRun, what: string, ref: ObjectRef): Promise<void> {
  return until(run, `${what} is gone`, (view) =>
    view.get(ref.kind, ref.name) ? { state: "pending", message: "deleting" } : { state: "ready", message: "gone" },
  );
}

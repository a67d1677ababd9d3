import type { NetworkOptions } from "../checks/verify/index.js";
import type { DoneEvent, EngineEvent, Reporter, RunOutcome } from "../engine/events.js";
import { inventoryOf } from "../engine/plan.js";
import { RECORD_NAME } from "../facts/names.js";
import { nextRecord, startedRecord, type InstallRecord, type Verification } from "../record/install-record.js";
import { writeRecord, type InstallState } from "../record/store.js";
import { collectBundle, writeBundle, type BundleInput } from "../support/bundle.js";
import { packageVersion } from "../base/version.js";
import { ExitCode, type ExitCodeValue } from "../base/exit-codes.js";
import type { FrontEnd } from "./front-end.js";
import type { PlannedRun } from "./install-steps.js";
import type { LockedRun } from "./locked.js";
import { answersToRecord, runEntryOf, secretValuesOf } from "./session.js";
import { checkInstall, verifiedEvent, type VerifyResult } from "./verify.js";

// How an install's run ends in the record: its start, its verification or its failure (with a
// support bundle), and the verdict held back until each is written.

/**
 * How the apply ended; `done`: its success, which a front end that holds it (scripts: `done` is
 * the last event and agrees with the exit code) has not shown yet while verification follows.
 */
export interface Applied {
  readonly code: ExitCodeValue;
  readonly done?: DoneEvent;
  /** The checklist's result, unless --skip-verify. */
  readonly verified?: VerifyResult;
}

/** The run's start in the record (its inventory, so a re-run knows what it may have applied), and a lock it took over. */
export async function recordStart(
  run: PlannedRun,
  lock: LockedRun["lock"],
  reporter: Reporter,
): Promise<InstallRecord> {
  const { state, plan } = run;
  const started = startedRecord(
    state.record,
    answersToRecord(run.chosen, state.record.defaults ?? []),
    inventoryOf(plan.rendered),
  );
  await writeRecord(run.kube, plan.namespace, started);
  const h = lock.tookOverFrom;
  if (h)
    reporter.event({
      event: "lock",
      status: "took-over",
      message: `took over the lock of ${h.user}@${h.host} (pid ${h.pid}, since ${h.since}): ${lock.tookOverBecause ?? "it stopped renewing it"}`,
    });
  return started;
}

/**
 * The engine's events on their way to the reporter, kept for a support bundle; the run's `done`
 * is held back: a failing one until the bundle is written (so `done` stays the last event), a
 * successful one, when `holdSuccess`, for the front end to show after verification.
 */
export class HeldVerdict implements Reporter {
  readonly recorded: EngineEvent[] = [];
  failed: EngineEvent | undefined;
  succeeded: DoneEvent | undefined;

  constructor(
    private readonly reporter: Reporter,
    private readonly holdSuccess: boolean,
  ) {}

  event(e: EngineEvent): void {
    this.recorded.push(e);
    if (e.event === "done" && !e.ok) this.failed = e;
    else if (e.event === "done" && this.holdSuccess) this.succeeded = e;
    else {
      if (e.event === "done") this.succeeded = e;
      this.reporter.event(e);
    }
  }

  progress(p: Parameters<Reporter["progress"]>[0]): void {
    this.reporter.progress(p);
  }
}

/** A run that did not succeed: recorded as it ended, with a support bundle when a person will want help, then its `done`. */
export async function recordFailure(
  run: PlannedRun,
  started: InstallRecord,
  outcome: RunOutcome,
  held: HeldVerdict,
  reporter: Reporter,
): Promise<void> {
  await recordRun(run, started, outcome).catch((err: Error) =>
    reporter.event({
      event: "cleanup",
      stage: "edge",
      object: `ConfigMap/${RECORD_NAME}`,
      message: `could not write the install record: ${err.message}`,
    }),
  );
  if (FAILED_RUN.has(outcome)) {
    // The install as this run left it: its namespace exists now, and its inventory is the started record's.
    const after: InstallState = { ...run.state, namespaceExists: true, record: started };
    await offerBundle(
      {
        kube: run.kube,
        state: after,
        installerVersion: packageVersion(),
        events: held.recorded,
        rendered: run.plan.rendered,
        preflight: run.checks,
        secretValues: secretValuesOf(run.config, run.state),
      },
      reporter,
    );
  }
  if (held.failed) reporter.event(held.failed);
}

/**
 * Still under the lock, after a successful apply: the checklist proves the install works, and the
 * run is recorded once, with its verification (what `status` shows).
 */
export async function verifyAndRecord(
  network: NetworkOptions,
  run: PlannedRun,
  started: InstallRecord,
  succeeded: DoneEvent | undefined,
  fe: FrontEnd,
): Promise<Applied> {
  await fe.stopReporting();
  const { answers } = answersToRecord(run.chosen, run.state.record.defaults ?? []);
  const install = {
    state: run.state,
    answers: answers as Record<string, string>,
    webImage: run.config.webImage,
    workerImage: run.config.workerImage,
    network,
  };
  const verified = await checkInstall(run.kube, install, fe);
  const notRecorded = await recordRun(run, started, "ok", verified.verification).then(
    () => "",
    (err: Error) => `; the install was not recorded: ${err.message}`,
  );
  fe.verified(verifiedEvent(verified, notRecorded));
  return { code: ExitCode.ok, ...(succeeded ? { done: succeeded } : {}), verified };
}

/** Outcomes a person will want help with: the bundle is made for them without asking. */
const FAILED_RUN: ReadonlySet<RunOutcome> = new Set(["apply-failed", "wait-failed", "timeout"]);

/** Collects and writes the support bundle and says where; a bundle that cannot be made never fails the run further. */
async function offerBundle(input: BundleInput, reporter: Reporter): Promise<void> {
  try {
    const path = writeBundle(await collectBundle(input), input.state.namespace);
    reporter.event({
      event: "support-bundle",
      path,
      message: `support bundle written to ${path} (mode 0600; no secret values: checked): attach it when asking for help`,
    });
  } catch (err) {
    reporter.event({ event: "support-bundle", path: "", message: `no support bundle: ${(err as Error).message}` });
  }
}

export async function recordRun(
  { kube, state, plan, config, chosen, pullToken }: PlannedRun,
  started: InstallRecord,
  outcome: RunOutcome,
  verification?: Verification,
): Promise<void> {
  const run = runEntryOf(kube, config, outcome);
  const success =
    outcome === "ok"
      ? {
          ...answersToRecord(chosen, state.record.defaults ?? []),
          inventory: inventoryOf(plan.rendered),
          ...(pullToken ? { pullToken } : {}),
        }
      : undefined;
  const record = nextRecord(started, run, success);
  await writeRecord(kube, plan.namespace, verification ? { ...record, verification } : record);
}

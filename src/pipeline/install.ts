import { clearPendingPassword } from "../engine/rotate.js";
import { join } from "node:path";
import { backupFileName, pruneSnapshots } from "../engine/backup-files.js";
import { applyPlan, type EngineOptions } from "../engine/engine.js";
import type { DoneEvent, EngineEvent, Reporter, RunOutcome } from "../engine/events.js";
import { collectBundle, writeBundle, type BundleInput } from "../support/bundle.js";
import { inventoryOf } from "../engine/plan.js";
import type { ConnectOptions } from "../kube/client.js";
import { releaseFromGitops } from "../engine/gitops-release.js";
import type { Kube } from "../kube/types.js";
import { gitopsController } from "../facts/gitops.js";
import {
  lastSuccessfulRun,
  nextRecord,
  startedRecord,
  type InstallRecord,
  type Verification,
} from "../record/install-record.js";
import { writeRecord, type InstallState } from "../record/store.js";
import { authUrl, renderPlan } from "../render/render.js";
import type { FrontEnd } from "./front-end.js";
import { exitOf, runLocked, Stop, type CommandWords, type LockedRun } from "./locked.js";
import { checkInstall, verifiedEvent, wholeRunVerdict, type VerifyResult } from "./verify.js";
import type { NetworkOptions } from "../checks/verify/index.js";
import { RECORD_NAME } from "../facts/names.js";
import { packageVersion } from "../base/version.js";
import { ExitCode, type ExitCodeValue } from "../base/exit-codes.js";
import { discoverClusterFacts } from "./cluster-facts.js";
import { type PlannedRun, passwordRotated, rotatesPassword, snapshotTaken } from "./install-steps.js";
import { gitopsRefusal, planRun, preflightOnly, reportDryRun, usage } from "./install-plan.js";
import { answersToRecord, ensureNamespace, installedOf, openCluster, runEntryOf, secretValuesOf } from "./session.js";

const OUTCOME_EXIT: Record<RunOutcome, ExitCodeValue> = {
  ok: ExitCode.ok,
  "apply-failed": ExitCode.apply,
  "wait-failed": ExitCode.wait,
  timeout: ExitCode.wait,
  interrupted: ExitCode.interrupted,
  "cluster-access": ExitCode.clusterAccess,
  locked: ExitCode.locked,
  refused: ExitCode.usage,
  "preflight-failed": ExitCode.preflight,
  "verify-failed": ExitCode.verifyFailed,
  cancelled: ExitCode.cancelled,
  "backup-failed": ExitCode.backupFailed,
  "internal-error": ExitCode.internal,
};

export interface PipelineOptions {
  readonly cluster: ConnectOptions;
  /** Another way to reach a cluster than the kubeconfig (unit tests pass an in-memory one). */
  readonly open?: () => Kube;
  readonly namespace: string;
  readonly dryRun: boolean;
  /** `--pull`: pull mutable tags again and roll out (a new pull token). */
  readonly pull: boolean;
  readonly engine: Pick<EngineOptions, "timeoutsMs">;
  /** `--skip-preflight`: apply without checking first (the run says what it skipped). */
  readonly skipPreflight: boolean;
  /** `--force-namespace`: take over a namespace that holds other workloads. */
  readonly forceNamespace: boolean;
  /** `--lock-timeout`: how long to wait for another run's lock (0: refuse at once). */
  readonly lockTimeoutMs: number;
  /** The lock's lease (default 15 s): how soon a killed run stops holding the install. */
  readonly leaseSeconds?: number;
  /** `--skip-verify`: end after the apply, without the verification checklist. */
  readonly skipVerify: boolean;
  readonly network: NetworkOptions;
  /** The backup before a migration: `--no-backup` skips it, `--backup-dir` says where (default: the snapshot directory). */
  readonly backup?: { readonly skip: boolean; readonly dir?: string | undefined };
  /** Where XDG_DATA_HOME and HOME come from (default: the process's environment). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** `preflight`: the install's run stopped after its checks, having written nothing. */
  readonly stopAfter?: "preflight";
  /** `--leave-gitops`: the installer manages a namespace a GitOps controller applied again (its marks removed). */
  readonly leaveGitops?: boolean;
}

/** The install's words for how it stopped early. */
const INSTALL_WORDS: CommandWords = { nothingDone: "nothing was applied" };

/**
 * One install, whichever front end: open the cluster → read the install record → resolve the
 * answers → plan (render, dry run, impact) → confirm → lock → apply and wait → record.
 */
export async function runInstallPipeline(options: PipelineOptions, fe: FrontEnd): Promise<ExitCodeValue> {
  try {
    return await planAndApply(options, fe);
  } catch (err) {
    await fe.stopReporting();
    return exitOf(err, fe, INSTALL_WORDS);
  }
}

async function planAndApply(options: PipelineOptions, fe: FrontEnd): Promise<ExitCodeValue> {
  const { kube, reads, state } = await openCluster(options, fe);
  // Before any question: a dry run or the preflight only read, so they may still show what the answers would do.
  const readOnly = options.dryRun || options.stopAfter === "preflight";
  if (state.gitops && !options.leaveGitops && !readOnly) throw gitopsRefusal(state);
  const upgrade = state.record.answers !== undefined;
  const resuming = upgrade && lastSuccessfulRun(state.record) === undefined;
  const resolved = await fe.resolveAnswers({
    kube,
    state,
    installed: installedOf(state),
    upgrade,
    resuming,
    facts: () => discoverClusterFacts(reads, options.namespace),
  });
  if (!resolved.ok) throw usage(resolved.problems);
  // From here on the run's own work (render, preflight, plan, apply): what its elapsed time covers.
  const startedAt = Date.now();
  const pullToken = options.pull ? new Date().toISOString().replace(/\.\d+Z$/, "Z") : state.record.pullToken;
  const rendered = renderPlan(resolved.config, undefined, { pullToken });
  const preflight = { kube: reads, rendered, config: resolved.config, state, forceNamespace: options.forceNamespace };
  if (options.stopAfter === "preflight") return preflightOnly(options, preflight, fe, startedAt);
  const { plan, checks, snapshot } = await planRun({ options, kube, reads, state, resolved, preflight, upgrade }, fe);
  if (options.dryRun) return reportDryRun(plan, fe);
  const asked = Date.now();
  const nothingToChange = plan.changes.every((c) => c.action === "unchanged");
  if (!(await fe.confirm(upgrade && !resuming, nothingToChange)))
    throw new Stop(ExitCode.cancelled, "Cancelled: nothing was applied.", "cancelled");
  // The time a person took to answer is not the run's.
  const runStartedAt = startedAt + (Date.now() - asked);
  const { config, chosen } = resolved;
  const run = { kube, state, plan, config, chosen, pullToken, checks, startedAt: runStartedAt, snapshot };
  const applied = await applyLocked(options, run, fe);
  if (applied.code !== ExitCode.ok || !applied.done || !applied.verified) return applied.code;
  // The run's verdict says both: the install is done, and whether it works end to end.
  const done = wholeRunVerdict(applied.done, applied.verified, options.namespace);
  fe.finish(done);
  return OUTCOME_EXIT[done.outcome];
}

/**
 * How the apply ended; `done`: its success, which a front end that holds it (scripts: `done` is
 * the last event and agrees with the exit code) has not shown yet while verification follows.
 */
interface Applied {
  readonly code: ExitCodeValue;
  readonly done?: DoneEvent;
  /** The checklist's result, unless --skip-verify. */
  readonly verified?: VerifyResult;
}

/** Ensures the namespace (the lock lives in it), then applies and records under the lock. */
async function applyLocked(options: PipelineOptions, run: PlannedRun, fe: FrontEnd): Promise<Applied> {
  if (!run.state.namespaceExists) await ensureNamespace(run.kube, run.plan.rendered);
  return runLocked(
    run.kube,
    run.state,
    {
      ...INSTALL_WORDS,
      lockTimeoutMs: options.lockTimeoutMs,
      ...(options.leaseSeconds ? { leaseSeconds: options.leaseSeconds } : {}),
    },
    fe,
    (locked) => applyAndRecord(options, run, locked, fe),
  );
}

/** Under the lock: records the run's start, applies, records its end, and bundles a failure. */
async function applyAndRecord(
  options: PipelineOptions,
  run: PlannedRun,
  { lock, signal, onSignal }: LockedRun,
  fe: FrontEnd,
): Promise<Applied> {
  const { kube, state, plan, config } = run;
  const reporter = fe.startReporting({ url: authUrl(config), onInterrupt: onSignal, dryRun: false });
  const snapshotFile = run.snapshot?.dir ? join(run.snapshot.dir, backupFileName(state.namespace)) : undefined;
  if (snapshotFile && !(await snapshotTaken(run, snapshotFile, reporter, signal))) {
    await fe.stopReporting();
    return { code: signal.aborted ? ExitCode.interrupted : ExitCode.backupFailed };
  }
  if (run.snapshot?.dir) pruneSnapshots(run.snapshot.dir);
  const started = startedRecord(
    state.record,
    answersToRecord(run.chosen, state.record.defaults ?? []),
    inventoryOf(plan.rendered),
  );
  await writeRecord(kube, plan.namespace, started);
  if (lock.tookOverFrom) {
    const h = lock.tookOverFrom;
    reporter.event({
      event: "lock",
      status: "took-over",
      message: `took over the lock of ${h.user}@${h.host} (pid ${h.pid}, since ${h.since}): ${lock.tookOverBecause ?? "it stopped renewing it"}`,
    });
  }
  // The run's events go into a support bundle if it fails; its failing `done` waits for the bundle, so `done` stays the last event.
  const recorded: EngineEvent[] = [];
  let failedDone: EngineEvent | undefined;
  let succeeded: DoneEvent | undefined;
  const tee: Reporter = {
    event: (e) => {
      recorded.push(e);
      if (e.event === "done" && !e.ok) failedDone = e;
      else if (e.event === "done" && !options.skipVerify && fe.holdsVerdict) succeeded = e;
      else {
        if (e.event === "done") succeeded = e;
        reporter.event(e);
      }
    },
    progress: (p) => reporter.progress(p),
  };
  if (options.leaveGitops && state.gitops) {
    const released = await releaseFromGitops(
      kube,
      plan.rendered.stages.flatMap((st) => st.objects),
    );
    reporter.event({
      event: "step",
      step: "leave-gitops",
      status: "done",
      message: `left GitOps: the ${gitopsController(state.gitops).name}'s marks removed from ${released} objects; the installer manages them from now on`,
    });
  }
  const rotating = rotatesPassword(run);
  const planned = rotating ? await passwordRotated(run, reporter) : plan;
  if (!planned) {
    await recordRun(run, started, "apply-failed").catch(() => undefined);
    await fe.stopReporting();
    return { code: ExitCode.apply };
  }
  const result = await applyPlan(planned, kube, tee, {
    ...options.engine,
    signal,
    startedAt: run.startedAt,
    upgrade: lastSuccessfulRun(state.record) !== undefined,
  });
  // The Secret holds the new password now: the rotation is over.
  if (rotating && result.outcome === "ok") await clearPendingPassword(kube, plan.namespace);
  if (result.outcome === "ok" && !options.skipVerify) return verifyAndRecord(options, run, started, succeeded, fe);
  await recordRun(run, started, result.outcome).catch((err: Error) =>
    reporter.event({
      event: "cleanup",
      stage: "edge",
      object: `ConfigMap/${RECORD_NAME}`,
      message: `could not write the install record: ${err.message}`,
    }),
  );
  if (FAILED_RUN.has(result.outcome)) {
    // The install as this run left it: its namespace exists now, and its inventory is the started record's.
    const after: InstallState = { ...state, namespaceExists: true, record: started };
    await offerBundle(
      {
        kube,
        state: after,
        installerVersion: packageVersion(),
        events: recorded,
        rendered: plan.rendered,
        preflight: run.checks,
        secretValues: secretValuesOf(config, state),
      },
      reporter,
    );
  }
  if (failedDone) reporter.event(failedDone);
  await fe.stopReporting();
  return { code: OUTCOME_EXIT[result.outcome], ...(succeeded ? { done: succeeded } : {}) };
}

/**
 * Still under the lock, after a successful apply: the checklist proves the install works, and the
 * run is recorded once, with its verification (what `status` shows).
 */
async function verifyAndRecord(
  options: PipelineOptions,
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
    network: options.network,
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

async function recordRun(
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

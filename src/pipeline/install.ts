import { clearPendingPassword } from "../engine/rotate.js";
import { join } from "node:path";
import { backupFileName, pruneSnapshots } from "../engine/backup-files.js";
import { applyPlan, type EngineOptions } from "../engine/engine.js";
import type { Reporter } from "../engine/events.js";
import { EXIT_OF_OUTCOME } from "../engine/outcomes.js";
import type { ConnectOptions } from "../kube/client.js";
import type { Kube } from "../kube/types.js";
import { lastSuccessfulRun } from "../record/install-record.js";
import { authUrl } from "../render/customise.js";
import { renderPlan } from "../render/render.js";
import type { FrontEnd } from "./front-end.js";
import { exitOf, runLocked, Stop, type CommandWords, type LockedRun } from "./locked.js";
import { wholeRunVerdict } from "./verify.js";
import type { NetworkOptions } from "../checks/verify/index.js";
import { ExitCode, type ExitCodeValue } from "../base/exit-codes.js";
import { discoverClusterFacts } from "./cluster-facts.js";
import {
  leaveGitops,
  type PlannedRun,
  passwordRotated,
  rotatesPassword,
  snapshotTaken,
  vectorEnsured,
} from "./install-steps.js";
import {
  type Applied,
  HeldVerdict,
  recordFailure,
  recordRun,
  recordStart,
  verifyAndRecord,
} from "./install-outcome.js";
import { mayDeleteParked, moveOf, nothingParked, parkedPostgresOf, parkedVolumeDeleted } from "./move-steps.js";
import { redisDrained, redisSwitchOf, redisSwitchPending } from "./redis-switch.js";
import type { InstallRecord } from "../record/install-record.js";
import { DEFAULT_TIMEOUTS_MS } from "../engine/engine.js";
import { gitopsRefusal, planRun, preflightOnly, reportDryRun, usage } from "./install-plan.js";
import { ensureNamespace, installedOf, openCluster } from "./session.js";

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
  /** `--delete-parked-postgres`: the cluster's parked PostgreSQL goes, its volume with it. */
  readonly deleteParkedPostgres?: boolean;
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
  if (options.deleteParkedPostgres && !(await mayDeleteParked(state, reads)))
    throw usage([nothingParked(options.namespace)]);
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
  const move = moveOf(state, resolved.config, kube.contextName, { ...options, timeoutMs: moveTimeoutMs(options) });
  const redisSwitch = redisSwitchOf(state, resolved.config);
  const parked = await parkedPostgresOf(options.deleteParkedPostgres ?? false, resolved.config, move, state, reads);
  if (parked === "refused") throw usage([nothingParked(options.namespace)]);
  const parkedPostgres = parked === "kept";
  const rendered = renderPlan(resolved.config, undefined, { pullToken, parkedPostgres });
  const preflight = { kube: reads, rendered, config: resolved.config, state, forceNamespace: options.forceNamespace };
  if (options.stopAfter === "preflight") return preflightOnly(options, preflight, fe, startedAt);
  const { plan, checks, snapshot } = await planRun(
    {
      options,
      kube,
      reads,
      state,
      resolved,
      preflight,
      upgrade,
      move,
      deletesParked: parked === "deleted",
      redisSwitch,
    },
    fe,
  );
  if (options.dryRun) return reportDryRun(plan, fe);
  const asked = Date.now();
  const nothingToChange = plan.changes.every((c) => c.action === "unchanged");
  if (!(await fe.confirm(upgrade && !resuming, nothingToChange)))
    throw new Stop(ExitCode.cancelled, "Cancelled: nothing was applied.", "cancelled");
  // The time a person took to answer is not the run's.
  const runStartedAt = startedAt + (Date.now() - asked);
  const { config, chosen } = resolved;
  const run = {
    kube,
    state,
    plan,
    config,
    chosen,
    pullToken,
    checks,
    startedAt: runStartedAt,
    snapshot,
    move,
    redisSwitch,
  };
  const applied = await applyLocked(options, run, fe);
  if (applied.code !== ExitCode.ok || !applied.done || !applied.verified) return applied.code;
  // The run's verdict says both: the install is done, and whether it works end to end.
  const done = wholeRunVerdict(applied.done, applied.verified, options.namespace);
  fe.finish(done);
  return EXIT_OF_OUTCOME[done.outcome];
}

/** A move's steps wait as long as the migration's stage may. */
function moveTimeoutMs(options: PipelineOptions): number {
  return options.engine.timeoutsMs?.migrate ?? DEFAULT_TIMEOUTS_MS.migrate;
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
  const { kube, state, plan } = run;
  const reporter = fe.startReporting({ url: authUrl(run.config), onInterrupt: onSignal, dryRun: false });
  const snapshotFile = run.snapshot?.dir ? join(run.snapshot.dir, backupFileName(state.namespace)) : undefined;
  if (snapshotFile && !(await snapshotTaken(run, snapshotFile, reporter, signal))) {
    await fe.stopReporting();
    return { code: signal.aborted ? ExitCode.interrupted : ExitCode.backupFailed };
  }
  if (run.snapshot?.dir) pruneSnapshots(run.snapshot.dir);
  const before = await stepsBeforeStages(options, run, await recordStart(run, lock, reporter), reporter, signal);
  const started = before.started;
  // The verdict waits: a failure's for its support bundle, a success's (when a front end holds it) for verification.
  const held = new HeldVerdict(reporter, !options.skipVerify && fe.holdsVerdict);
  if (before.failed) {
    await recordRun(run, started, before.failed.outcome).catch(() => undefined);
    await fe.stopReporting();
    return { code: before.failed.code };
  }
  const rotating = rotatesPassword(run);
  const planned = rotating ? await passwordRotated(run, reporter) : plan;
  if (!planned) {
    await recordRun(run, started, "apply-failed").catch(() => undefined);
    await fe.stopReporting();
    return { code: ExitCode.apply };
  }
  const result = await applyPlan(planned, kube, held, {
    ...options.engine,
    signal,
    startedAt: run.startedAt,
    upgrade: lastSuccessfulRun(state.record) !== undefined,
  });
  // The Secret holds the new password now: the rotation is over.
  if (rotating && result.outcome === "ok") await clearPendingPassword(kube, plan.namespace);
  if (result.outcome === "ok" && !options.skipVerify)
    return verifyAndRecord(options.network, run, started, held.succeeded, fe);
  await recordFailure(run, started, result.outcome, held, reporter);
  await fe.stopReporting();
  return { code: EXIT_OF_OUTCOME[result.outcome], ...(held.succeeded ? { done: held.succeeded } : {}) };
}

/** What ran before the stages: the record as it is now, and how the run ends when a step failed. */
interface BeforeStages {
  readonly started: InstallRecord;
  readonly failed?: { readonly outcome: "apply-failed" | "preflight-failed"; readonly code: ExitCodeValue };
}

/**
 * The steps before the stages, in order: --leave-gitops, the data's move, Redis's switch,
 * --delete-parked-postgres, pgvector in your own PostgreSQL. A move or switch stays pending in
 * the record until a run ends well.
 */
async function stepsBeforeStages(
  options: PipelineOptions,
  run: PlannedRun,
  started: InstallRecord,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<BeforeStages> {
  const failed = (code: ExitCodeValue, outcome: "apply-failed" | "preflight-failed" = "apply-failed") => ({
    started,
    failed: { outcome, code: signal.aborted ? ExitCode.interrupted : code },
  });
  if (options.leaveGitops && run.state.gitops) await leaveGitops(run, reporter);
  if (run.move) {
    // Loaded by a run that moves only: its steps bring the restore's code with them.
    const { databaseMoved } = await import("./move-run.js");
    const moved = await databaseMoved({ ...run, move: run.move }, started, reporter, signal);
    started = moved.record;
    if (!moved.ok) return moved.refused ? failed(ExitCode.preflight, "preflight-failed") : failed(ExitCode.apply);
  }
  if (run.redisSwitch) {
    started = await redisSwitchPending(run, run.redisSwitch, started);
    if (!(await redisDrained(run, run.redisSwitch, moveTimeoutMs(options), reporter, signal)))
      return failed(ExitCode.apply);
  }
  if (options.deleteParkedPostgres && !(await parkedVolumeDeleted(run, reporter))) return failed(ExitCode.apply);
  if (!(await vectorEnsured(run, reporter, signal))) return failed(ExitCode.apply);
  return { started };
}

import { join } from "node:path";
import { backupFileName, snapshotDir } from "../engine/backup-files.js";
import { backupFirst } from "./backup.js";
import type { Reporter, RunOutcome } from "../engine/events.js";
import { removeGroups } from "../engine/remove.js";
import type { ConnectOptions } from "../kube/client.js";
import type { Kube } from "../kube/types.js";
import { ownPostgresOf, lastSuccessfulRun, noInstallMessage } from "../record/install-record.js";
import type { InstallState } from "../record/store.js";
import { exitOf, runLocked, type CommandWords } from "./locked.js";
import { openCluster } from "./session.js";
import { keepMigrationMark, keptNotes, planRemoval, removalEvent, type RemovalPlan } from "./removal-plan.js";
import type { PlanEvent, ReportingOptions } from "./front-end.js";
import { ExitCode, type ExitCodeValue } from "../base/exit-codes.js";

export interface UninstallOptions {
  readonly cluster: ConnectOptions;
  /** Another way to reach a cluster than the kubeconfig (unit tests pass an in-memory one). */
  readonly open?: () => Kube;
  readonly namespace: string;
  readonly deleteData: boolean;
  readonly timeoutMs: number;
  /** `--lock-timeout`: how long to wait for another run's lock (0: refuse at once). */
  readonly lockTimeoutMs: number;
  /** The final backup before --delete-data: `--no-backup` skips it, `--backup-dir` says where. */
  readonly backup?: { readonly skip: boolean; readonly dir?: string | undefined };
  /** Where XDG_DATA_HOME and HOME come from (default: the process's environment). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** How an uninstall asks and reports: the confirm is typing the namespace name (twice for data). */
export interface UninstallFrontEnd {
  /** Which kubeconfig context, when it holds several and --context was not given. */
  chooseContext(names: readonly string[]): Promise<string | undefined>;
  showPlan(plan: PlanEvent): void;
  confirm(plan: RemovalPlan): Promise<boolean>;
  startReporting(options: ReportingOptions): Reporter;
  stopReporting(): Promise<void>;
  say(line: string, outcome?: RunOutcome): void;
}

const EXIT: Partial<Record<RunOutcome, ExitCodeValue>> = {
  ok: ExitCode.ok,
  interrupted: ExitCode.interrupted,
  "cluster-access": ExitCode.clusterAccess,
};

/** Where --delete-data's final backup goes: only for an install that completed (its data is real), unless --no-backup. */
function finalBackupFile(options: UninstallOptions, state: InstallState, kube: Kube): string | undefined {
  if (!options.deleteData || options.backup?.skip || !lastSuccessfulRun(state.record)) return undefined;
  // Your own PostgreSQL's data is not deleted: nothing to back up first.
  if (ownPostgresOf(state.record)) return undefined;
  const dir = options.backup?.dir ?? snapshotDir(options.env ?? process.env, kube.contextName, state.namespace);
  return join(dir, backupFileName(state.namespace));
}

/** The final backup; a failed one stops the uninstall with nothing deleted, saying how to go on. */
function finalBackupTaken(
  kube: Kube,
  state: InstallState,
  file: string,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<boolean> {
  return backupFirst(kube, state, file, reporter, signal, {
    what: "the backup before deleting the data",
    nothingDone: "nothing was deleted",
    next: [
      "fix what the backup said and run the same command again, or give --no-backup to delete the data without one",
    ],
    total: 0,
    startedAt: Date.now(),
  });
}

const UNINSTALL_WORDS: CommandWords = { nothingDone: "nothing was deleted" };

/** Opens the cluster, shows what goes and what stays, confirms, then under the lock deletes. */
export async function runUninstall(options: UninstallOptions, fe: UninstallFrontEnd): Promise<ExitCodeValue> {
  try {
    const { kube, state } = await openCluster(options, fe);
    if (!state.namespaceExists || !state.record.answers) {
      fe.say(
        `mathison-install: ${noInstallMessage(options.namespace, kube.contextName)}; nothing was deleted`,
        "not-installed",
      );
      return ExitCode.notInstalled;
    }
    const plan = await planRemoval(kube, state, options.deleteData);
    const backupFile = finalBackupFile(options, state, kube);
    fe.showPlan(removalEvent(plan, kube, backupFile, state.gitops));
    if (!(await fe.confirm(plan))) {
      fe.say("Cancelled: nothing was deleted.", "cancelled");
      return ExitCode.cancelled;
    }
    return await runLocked(
      kube,
      state,
      { ...UNINSTALL_WORDS, lockTimeoutMs: options.lockTimeoutMs },
      fe,
      async ({ signal, onSignal }) => {
        const reporter = fe.startReporting({ url: "", onInterrupt: onSignal, dryRun: false });
        if (backupFile && !(await finalBackupTaken(kube, state, backupFile, reporter, signal))) {
          await fe.stopReporting();
          return signal.aborted ? ExitCode.interrupted : ExitCode.backupFailed;
        }
        if (!options.deleteData) await keepMigrationMark(kube, state);
        const outcome = await removeGroups(plan.groups, plan.namespace, kube, reporter, {
          signal,
          timeoutMs: options.timeoutMs,
          kept: keptNotes(plan),
        });
        await fe.stopReporting();
        return EXIT[outcome] ?? ExitCode.wait;
      },
    );
  } catch (err) {
    await fe.stopReporting();
    return exitOf(err, fe, UNINSTALL_WORDS);
  }
}

import type { NetworkOptions } from "../checks/verify/index.js";
import { type BackupManifest, BackupError, checkBackup } from "../engine/backup-files.js";
import { databaseNames } from "../engine/database.js";
import { replacedName, restoringName } from "../engine/restore-database.js";
import { type DoneEvent, doneOf, type Reporter, type RunOutcome } from "../engine/events.js";
import type { ConnectOptions } from "../kube/client.js";
import type { Kube } from "../kube/types.js";
import { lastSuccessfulRun, nextRecord, noInstallMessage, type InstallRecord } from "../record/install-record.js";
import { gitopsWarning } from "../facts/gitops.js";
import { writeRecord, type InstallState } from "../record/store.js";
import { sizeOf } from "../base/sizes.js";
import { ExitCode, type ExitCodeValue } from "../base/exit-codes.js";
import type { ReportingOptions } from "./front-end.js";
import { openCluster, runEntryOf } from "./session.js";
import { currentReplicas, ownDatabaseRefusal, stepsInOrder } from "./restore-steps.js";
import { type RestoreRun, withinSeconds } from "./restore-run.js";
import { exitOf, runLocked, Stop, type CommandWords } from "./locked.js";
import { checkInstall, verifiedEvent, wholeRunVerdict, type VerifyFrontEnd } from "./verify.js";

const RESTORE_WORDS: CommandWords = { nothingDone: "nothing was restored" };

export interface RestoreOptions {
  readonly cluster: ConnectOptions;
  /** Another way to reach a cluster than the kubeconfig (unit tests pass an in-memory one). */
  readonly open?: () => Kube;
  readonly namespace: string;
  readonly file: string;
  readonly lockTimeoutMs: number;
  /** How long each step (scaling down, the migration, scaling up) may take. */
  readonly timeoutMs: number;
  readonly network: NetworkOptions;
}

/** How a restore asks and reports: what will be replaced, the typed namespace, then steps and the checklist. */
export interface RestoreFrontEnd extends VerifyFrontEnd {
  /** Which kubeconfig context, when it holds several and --context was not given. */
  chooseContext(names: readonly string[]): Promise<string | undefined>;
  showRestorePlan(lines: readonly string[]): void;
  confirm(namespace: string): Promise<boolean>;
  startReporting(options: ReportingOptions): Reporter;
  stopReporting(): Promise<void>;
  say(line: string, outcome?: RunOutcome): void;
  /** The run's verdict, its last line (and for scripts its `done` event). */
  finish(done: DoneEvent): void;
}

/** A restore as the record's history and `status`'s last runs show it. */
export const RESTORED_OUTCOME = "restored";

/**
 * `mathison-install restore FILE`: checks the dump against its manifest, says what it replaces,
 * confirms, then under the install's lock stops web and worker, restores the database, runs the
 * migration of the current web image (so the schema matches what runs), starts them again and
 * verifies. A restore stopped half-way is recorded: the next `restore` or `install` starts web
 * and worker again.
 */
export async function runRestore(options: RestoreOptions, fe: RestoreFrontEnd): Promise<ExitCodeValue> {
  let manifest: BackupManifest;
  try {
    manifest = await checkBackup(options.file);
  } catch (err) {
    if (!(err instanceof BackupError)) throw err;
    fe.say(`mathison-install: restore ${options.file}: ${err.message}; nothing was restored`, "refused");
    return ExitCode.usage;
  }
  try {
    const { kube, state } = await openCluster(options, fe);
    if (!state.namespaceExists || !lastSuccessfulRun(state.record)) {
      fe.say(
        `mathison-install: ${noInstallMessage(options.namespace, kube.contextName)}; nothing was restored`,
        "not-installed",
      );
      return ExitCode.notInstalled;
    }
    const cannot = await ownDatabaseRefusal({ kube, state, manifest });
    if (cannot) {
      fe.say(`mathison-install: ${cannot}; nothing was restored`, "preflight-failed");
      return ExitCode.preflight;
    }
    fe.showRestorePlan(await restorePlanLines(kube, state, manifest, options.file));
    if (!(await fe.confirm(state.namespace))) {
      fe.say(`Cancelled: ${RESTORE_WORDS.nothingDone}.`, "cancelled");
      return ExitCode.cancelled;
    }
    return await runLocked(
      kube,
      state,
      { ...RESTORE_WORDS, lockTimeoutMs: options.lockTimeoutMs },
      fe,
      async ({ signal, onSignal }) => {
        const startedAt = Date.now();
        const reporter = fe.startReporting({ url: "", onInterrupt: onSignal, dryRun: false });
        const restored = await restoreSteps({ kube, state, manifest, options, reporter, signal });
        await fe.stopReporting();
        const last = lastSuccessfulRun(state.record)!;
        const verified = await checkInstall(
          kube,
          {
            state,
            answers: (state.record.answers ?? {}) as Record<string, string>,
            webImage: last.webImage,
            workerImage: last.workerImage,
            network: options.network,
          },
          fe,
        );
        const record = nextRecord(restored, runEntryOf(kube, last, RESTORED_OUTCOME));
        const notRecorded = await writeRecord(kube, state.namespace, {
          ...record,
          verification: verified.verification,
        }).then(
          () => "",
          (err: Error) => `; the result was not recorded: ${err.message}`,
        );
        fe.verified(verifiedEvent(verified, notRecorded));
        const done = wholeRunVerdict(
          doneOf(
            "ok",
            `restored ${state.namespace} from ${options.file} (taken ${manifest.createdAt})${notRecorded}`,
            startedAt,
          ),
          verified,
          state.namespace,
        );
        fe.finish(done);
        return done.ok ? ExitCode.ok : ExitCode.verifyFailed;
      },
    );
  } catch (err) {
    await fe.stopReporting();
    return exitOf(err, fe, RESTORE_WORDS);
  }
}

/** What the restore replaces, with what, and what it does on the way. */
async function restorePlanLines(kube: Kube, state: InstallState, m: BackupManifest, file: string): Promise<string[]> {
  const { db } = await databaseNames(kube, state.namespace);
  const last = lastSuccessfulRun(state.record);
  const elsewhere = m.namespace !== state.namespace || m.context !== kube.contextName;
  const answers = state.record.answers ?? {};
  const ownRedis = answers["redisUrl"];
  const redis = m.redis && !ownRedis ? m.redis : undefined;
  return [
    `Restore into context ${kube.contextName}, namespace ${state.namespace}: database ${db}${answers["postgresUrl"] ? ` of your own PostgreSQL (${answers["postgresUrl"]})` : ""} is replaced by`,
    `  ${file}: a dump of database ${m.database.name} taken ${m.createdAt} (${sizeOf(m.bytes)}, sha256 checked)`,
    ...(redis
      ? [
          `  and Redis's data (queued jobs) by ${redis.file} (${sizeOf(redis.bytes)}, sha256 checked): Redis stops while it is put back`,
        ]
      : []),
    ...(m.redis && ownRedis
      ? [`  ! Redis's snapshot in the backup is not put back: this install uses your own Redis (${ownRedis})`]
      : []),
    ...(elsewhere ? [`  ! it was taken from context ${m.context}, namespace ${m.namespace}`] : []),
    `  images then: ${m.images.web ?? "?"}, ${m.images.worker ?? "?"}; now: ${last?.webImage}, ${last?.workerImage}`,
    ...(state.gitops ? [`  ! ${gitopsWarning(state.gitops, "restore")}`] : []),
    `Steps: stop web and worker, restore the dump into a new database ${restoringName(db)} (room for a second copy of the data is needed meanwhile), check it, swap it in (${db} becomes ${replacedName(db)}, then is dropped)${redis ? ", put Redis's snapshot back" : ""}, run the migration of the current web image, start web and worker, verify.`,
    `Everything written to the database${redis ? " and Redis" : ""} since the dump is lost; so are objects the dump does not hold.`,
  ];
}

/** The steps under the lock; returns the record as they left it (the restore no longer pending). */
async function restoreSteps(run: RestoreRun): Promise<InstallRecord> {
  const { kube, state } = run;
  // A restore stopped before scaling back recorded the counts it found: they are the ones to go back to.
  const replicas = state.record.restoring?.replicas ?? (await currentReplicas(kube, state.namespace));
  const pending: InstallRecord = {
    ...state.record,
    restoring: { file: run.options.file, since: new Date().toISOString(), replicas },
  };
  await writeRecord(kube, state.namespace, pending);
  try {
    await stepsInOrder(run, replicas);
  } catch (err) {
    // Bounded like the rest of a stop: the history says the restore stopped, `restoring` how to finish it.
    if (err instanceof Stop) {
      const entry = runEntryOf(kube, lastSuccessfulRun(state.record)!, `restore ${err.outcome ?? "failed"}`);
      await withinSeconds(1.5, writeRecord(kube, state.namespace, nextRecord(pending, entry)));
    }
    throw err;
  }
  const { restoring: _done, ...rest } = pending;
  return rest;
}

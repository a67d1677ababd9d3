/*
 * The install's steps before its stages: the backup of the database before a migration, the
 * change of the database password a rotation makes inside PostgreSQL first, pgvector in your own
 * PostgreSQL before the migration needs it, and --leave-gitops.
 */
import type { ChosenValues } from "../config/resolve.js";
import type { InstallConfig } from "../config/types.js";
import { SNAPSHOTS_KEPT, snapshotDir } from "../engine/backup-files.js";
import type { Reporter } from "../engine/events.js";
import type { InstallPlan } from "../engine/plan.js";
import { markPendingPassword, setDatabasePassword } from "../engine/rotate.js";
import type { CheckOutcome } from "../checks/types.js";
import type { KubeObject } from "../facts/objects.js";
import type { Kube } from "../kube/types.js";
import { lastSuccessfulRun } from "../record/install-record.js";
import type { InstallState } from "../record/store.js";
import { invoked } from "../base/invocation.js";
import { backupFirst } from "./backup.js";
import { clientPodName, withClientPod } from "../engine/client-pod.js";
import { psqlThrough } from "../engine/external-probe.js";
import { databaseClientPod } from "../render/client-pod.js";
import { releaseFromGitops } from "../engine/gitops-release.js";
import { gitopsController } from "../facts/gitops.js";
import type { PendingMove } from "../record/install-record.js";

/** What the backup before a migration is told by the command: `--no-backup`, `--backup-dir`, and where XDG_DATA_HOME comes from. */
export interface SnapshotOptions {
  readonly backup?: { readonly skip: boolean; readonly dir?: string | undefined };
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A move of the data this run makes (pipeline/move-steps.ts): where it goes, and the directory its dump is written to (kept as a backup). */
export interface Move {
  readonly to: PendingMove["to"];
  readonly dir: string;
  /** How long each step may wait (the stop, the in-cluster PostgreSQL's start, each statement). */
  readonly timeoutMs: number;
}

/** A run as the install pipeline planned it: what its steps work from. */
export interface PlannedRun {
  readonly kube: Kube;
  readonly state: InstallState;
  readonly plan: InstallPlan;
  readonly config: InstallConfig;
  readonly chosen: ChosenValues;
  readonly pullToken: string | undefined;
  readonly checks: readonly CheckOutcome[];
  readonly startedAt: number;
  /** The backup taken before the migration, if this run migrates an existing install. */
  readonly snapshot: Snapshot | undefined;
  /** The data's move between the cluster's PostgreSQL and your own, if this run makes one. */
  readonly move?: Move | undefined;
  /** A switch of Redis between the cluster's and your own, if this run makes one (pipeline/redis-switch.ts). */
  readonly redisSwitch?: "own" | "cluster" | undefined;
}

/**
 * A run that starts a new migration on an install's data: the directory its backup goes into
 * first (none with --no-backup), and what the plan says. The file is named when the backup
 * starts: its name says when the dump was taken, not when the run was planned.
 */
export interface Snapshot {
  readonly dir: string | undefined;
  readonly notice: string;
}

export function snapshotOf(
  plan: InstallPlan,
  state: InstallState,
  kube: Kube,
  options: SnapshotOptions,
): Snapshot | undefined {
  const migrates = plan.changes.some(
    (c) => c.desired.kind === "Job" && (c.action === "create" || c.action === "replace"),
  );
  if (!migrates || !state.namespaceExists || !lastSuccessfulRun(state.record)) return undefined;
  // An uninstall stopped half-way, say: no database runs to dump; the migration runs on what its volume holds.
  const noDatabase = plan.changes.some(
    (c) => c.desired.kind === "StatefulSet" && c.desired.metadata.name === "postgres" && c.action === "create",
  );
  if (noDatabase)
    return {
      dir: undefined,
      notice:
        "no backup before the migration: PostgreSQL is not running (this run creates its StatefulSet again), so there is nothing to dump; the migration runs on the data its volume holds",
    };
  if (options.backup?.skip) {
    return { dir: undefined, notice: "--no-backup: the migration runs on the database without a backup first" };
  }
  const dir = options.backup?.dir ?? snapshotDir(options.env ?? process.env, kube.contextName, state.namespace);
  return {
    dir,
    notice: `a backup of the database is taken before the migration, into ${dir} (the last ${SNAPSHOTS_KEPT} are kept; --no-backup skips it)`,
  };
}

/** The backup before the migration; a failed one ends the run with nothing applied, saying how to go on. */
export function snapshotTaken(
  run: PlannedRun,
  file: string,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<boolean> {
  return backupFirst(run.kube, run.state, file, reporter, signal, {
    what: "the backup before the migration",
    nothingDone: "nothing was applied",
    next: [
      "fix what the backup said, then run the same command again",
      `or take one by hand (${invoked()} backup --namespace ${run.state.namespace} --out FILE) and upgrade with --no-backup`,
    ],
    total: run.plan.rendered.stages.reduce((n, s) => n + s.objects.length, 0),
    startedAt: run.startedAt,
  });
}

/**
 * The run changes the database password: --rotate, or a rotation an earlier run left unfinished
 * (whatever step it stopped at: setting it again inside PostgreSQL is harmless, and only a
 * finished run removes POSTGRES_PASSWORD_NEXT).
 */
export function rotatesPassword({ state, config }: PlannedRun): boolean {
  // Your own PostgreSQL's password was changed where it runs: the Secret only follows it.
  if (config.externalPostgres) return false;
  if (state.pendingPassword !== undefined) return true;
  const current = state.secrets.postgresPassword;
  return current !== undefined && current !== "" && config.secrets.postgresPassword !== current;
}

/**
 * Before the Secret changes: the new password kept beside the old one, then set inside
 * PostgreSQL. A failure stops the run before anything else is applied; the next run finishes it.
 */
export async function passwordRotated(run: PlannedRun, reporter: Reporter): Promise<InstallPlan | undefined> {
  const ns = run.plan.namespace;
  reporter.event({
    event: "step",
    step: "rotate",
    status: "running",
    message: "setting the new database password inside PostgreSQL",
  });
  let secret: KubeObject;
  try {
    secret = await markPendingPassword(run.kube, ns, run.config.secrets.postgresPassword);
    await setDatabasePassword(run.kube, ns, run.config.secrets.postgresPassword);
  } catch (err) {
    failedBeforeStages(
      run,
      reporter,
      "rotate",
      `rotating POSTGRES_PASSWORD failed: ${(err as Error).message}; nothing else was applied: run the same command again to finish the rotation`,
    );
    return undefined;
  }
  reporter.event({
    event: "step",
    step: "rotate",
    status: "done",
    message: "PostgreSQL has the new password; the Secret gets it next, and web and worker roll",
  });
  // The Secret's guarded apply checks the version the plan read: this run's own write is that version now.
  const changes = run.plan.changes.map((c) => (c.desired.kind === "Secret" && c.live ? { ...c, live: secret } : c));
  return { ...run.plan, changes };
}

/**
 * Your own PostgreSQL: pgvector created in its database if it is not there yet (the preflight
 * found it available and the user allowed to), as the in-cluster one's init script does. Through
 * a client pod in the namespace, as the preflight's; a failure stops the run before any stage.
 */
export async function vectorEnsured(run: PlannedRun, reporter: Reporter, signal: AbortSignal): Promise<boolean> {
  const pg = run.config.externalPostgres;
  if (!pg) return true;
  const ns = run.plan.namespace;
  const target = { pg, password: run.config.secrets.postgresPassword, ca: run.config.secrets.postgresCaCert };
  const said = await withClientPod(
    run.kube,
    databaseClientPod(run.config, ns, clientPodName()),
    (pod) =>
      psqlThrough(
        run.kube,
        ns,
        pod,
        target,
        "CREATE EXTENSION IF NOT EXISTS vector",
        "mathison-install install",
        signal,
      ),
    { timeoutMs: 90_000, signal },
  ).catch((err: Error) => ({ failed: { kind: "other" as const, said: err.message } }));
  if (!("failed" in said)) return true;
  failedBeforeStages(
    run,
    reporter,
    "extension",
    `could not create pgvector in your own PostgreSQL (${pg.database}): ${said.failed.said}; nothing else was applied: as an admin of the server, psql -d ${pg.database} -c "CREATE EXTENSION vector", then run the same command again`,
  );
  return false;
}

/** A step before the stages failed: said as the step's failure, then as the run's verdict. */
export function failedBeforeStages(
  run: PlannedRun,
  reporter: Reporter,
  step: string,
  message: string,
  outcome: "apply-failed" | "preflight-failed" | "interrupted" = "apply-failed",
): void {
  reporter.event({ event: "step", step, status: "failed", message });
  reporter.event({
    event: "done",
    ok: false,
    outcome,
    elapsedMs: Date.now() - run.startedAt,
    applied: 0,
    total: 0,
    message,
  });
}

/** `--leave-gitops`: the controller's marks removed from every object the install renders. */
export async function leaveGitops(run: PlannedRun, reporter: Reporter): Promise<void> {
  const released = await releaseFromGitops(
    run.kube,
    run.plan.rendered.stages.flatMap((st) => st.objects),
  );
  reporter.event({
    event: "step",
    step: "leave-gitops",
    status: "done",
    message: `left GitOps: the ${gitopsController(run.state.gitops!).name}'s marks removed from ${released} objects; the installer manages them from now on`,
  });
}

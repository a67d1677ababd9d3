/*
 * Moving an install's data between the PostgreSQL it runs and your own, as steps of `install`
 * before its stages: web and worker stopped, the database dumped, the dump restored beside the
 * target's database, checked and swapped in (the commit point, engine/restore-database.ts) with
 * the move's mark on it; then the stages apply the new settings, run the migration and start web
 * and worker. The data's old home is left as it was: your own database untouched, the cluster's
 * PostgreSQL parked with its volume (render/external.ts).
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { backupFileName } from "../engine/backup-files.js";
import type { Database } from "../engine/database.js";
import type { Reporter } from "../engine/events.js";
import { withDatabaseOf } from "../engine/own-database.js";
import { statefulSetReadiness } from "../engine/readiness.js";
import {
  checkRestored,
  clearLeftovers,
  databaseContents,
  discardRestoring,
  markRestoring,
  restoreIntoNew,
  swapIn,
} from "../engine/restore-database.js";
import { setDatabasePassword } from "../engine/rotate.js";
import { waitUntil } from "../engine/wait-until.js";
import { CONFIGMAP_NAME } from "../facts/names.js";
import type { KubeObject } from "../facts/objects.js";
import type { InstallRecord, PendingMove } from "../record/install-record.js";
import { writeRecord } from "../record/store.js";
import { invoked } from "../base/invocation.js";
import { backupWithEvents } from "./backup.js";
import { failedBeforeStages, type Move, type PlannedRun } from "./install-steps.js";
import { shownUrl } from "./move-steps.js";
import { appsGone, restoreRightsRefusal, scaleAppsToZero } from "./restore-steps.js";
import { withinSeconds } from "./restore-run.js";

/** A move that cannot be made here: said before anything stops (the target holds data, its user lacks a right). */
export class MoveRefusal extends Error {}

/** A planned run that moves the data. */
export type MovingRun = PlannedRun & { readonly move: Move };

/**
 * The move's steps under the lock. Returns the record with the move pending (a run that ends
 * well clears it, a failed one keeps it), and whether they all succeeded (a failure is said, with
 * how to go on).
 */
export async function databaseMoved(
  run: MovingRun,
  started: InstallRecord,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<{ readonly record: InstallRecord; readonly ok: boolean; readonly refused?: boolean }> {
  const { kube, move } = run;
  const ns = run.state.namespace;
  const url = run.config.externalPostgres ? shownUrl(run.config.externalPostgres) : undefined;
  // The same move again (to the same place): its id, so a mark it left is found.
  const moving: PendingMove =
    started.moving?.to === move.to && started.moving.url === url
      ? started.moving
      : { id: randomUUID(), to: move.to, ...(url ? { url } : {}), since: new Date().toISOString() };
  const pending: InstallRecord = { ...started, moving };
  let at = "move";
  const step = async (id: string, doing: string, work: () => Promise<string>) => {
    at = id;
    reporter.event({ event: "step", step: id, status: "running", message: doing });
    reporter.event({ event: "step", step: id, status: "done", message: await work() });
  };
  try {
    await writeRecord(kube, ns, pending);
    if (move.to === "cluster")
      await step("postgres", "starting the cluster's PostgreSQL", () => clusterPostgresStarted(run, signal));
    const mark = `mathison-install: the data of namespace ${ns} (context ${kube.contextName}), move ${moving.id}`;
    const done = await withTarget(run, signal, (d) => alreadyMoved(d, mark, ns, move));
    if (done) reporter.event({ event: "step", step: "move", status: "done", message: done });
    else {
      await step("stop", "scaling web and worker to 0", async () => {
        await scaleAppsToZero(kube, ns);
        await waitUntil(kube, ns, "web and worker pods are gone", appsGone, { timeoutMs: move.timeoutMs, signal });
        return "web and worker stopped";
      });
      at = "dump";
      const file = join(move.dir, backupFileName(ns));
      const manifest = await backupWithEvents(kube, run.state, file, reporter, signal);
      await step("restore", `restoring ${file} into ${where(move)}, beside its database`, () =>
        withTarget(run, signal, (d) => restoredWithMark(d, file, manifest, mark, move, signal)),
      );
    }
    // The cluster's PostgreSQL keeps the password it was made with: it takes the install's now.
    if (move.to === "cluster") await setDatabasePassword(kube, ns, run.config.secrets.postgresPassword);
    return { record: pending, ok: true };
  } catch (err) {
    if (err instanceof MoveRefusal) {
      failedBeforeStages(run, reporter, "move", `${err.message}; nothing was changed`, "preflight-failed");
      // Nothing of the move happened: the record says none is pending (unless an earlier run's is).
      return { record: started, ok: false, refused: true };
    }
    const outcome = signal.aborted ? "interrupted" : "apply-failed";
    failedBeforeStages(run, reporter, at, moveStopped(run, err as Error, signal), outcome);
    return { record: pending, ok: false };
  }
}

function where(move: Move): string {
  return move.to === "own" ? "your own PostgreSQL" : "the cluster's PostgreSQL";
}

/** The target's database, reached as the new settings say (your own through a client pod). */
function withTarget<T>(run: MovingRun, signal: AbortSignal, use: (d: Database) => Promise<T>): Promise<T> {
  return withDatabaseOf(run.kube, run.state.namespace, run.config, use, signal);
}

/**
 * Before anything stops: whether this move already committed (its mark is on the target, so the
 * app may have written there since), and whether the target may be filled: your own database must
 * be empty or hold an earlier move of this install, and its user must be able to do a restore there.
 */
async function alreadyMoved(d: Database, mark: string, ns: string, move: Move): Promise<string | undefined> {
  const found = await databaseContents(d, move.timeoutMs);
  if (found.mark === mark) return `the data is in ${where(move)} already (this move's mark is on database ${d.db})`;
  if (move.to === "cluster") return undefined;
  const ours = found.mark.startsWith(`mathison-install: the data of namespace ${ns} `);
  if (found.tables > 0 && !ours)
    throw new MoveRefusal(
      `database ${d.db} of your own PostgreSQL holds ${found.tables} tables: a move fills an empty database; point --postgres-url at an empty one`,
    );
  const refused = await restoreRightsRefusal(d, true);
  if (refused) throw new MoveRefusal(refused);
  return undefined;
}

/** The dump into a new database beside the target's, checked, marked, swapped in. */
async function restoredWithMark(
  d: Database,
  file: string,
  manifest: Awaited<ReturnType<typeof backupWithEvents>>,
  mark: string,
  move: Move,
  signal: AbortSignal,
): Promise<string> {
  const deadline = Date.now() + move.timeoutMs;
  const found = await clearLeftovers(d, move.timeoutMs);
  try {
    await restoreIntoNew({ database: d, file, bytes: manifest.bytes, timeoutMs: move.timeoutMs, signal });
    const summary = await checkRestored(d, manifest.schema, move.timeoutMs);
    await markRestoring(d, mark, move.timeoutMs);
    await swapIn(d, deadline, signal);
    const counted = summary.fieldRows ?? summary.rows;
    const rows = counted ? Object.values(counted).reduce((n, t) => n + t.rows, 0) : undefined;
    return [
      `database ${d.db} holds the dump (${summary.tables.length} tables${rows !== undefined ? `, ${rows} rows` : ""}, checked)`,
      ...found,
    ].join("; ");
  } catch (err) {
    await withinSeconds(signal.aborted ? 1.5 : 10, discardRestoring(d, signal.aborted ? 1500 : 10_000));
    throw err;
  }
}

/**
 * The cluster's PostgreSQL running again: its objects applied as this run renders them (the
 * ConfigMap first: a new data directory is made with its names), then its pod ready.
 */
async function clusterPostgresStarted(run: MovingRun, signal: AbortSignal): Promise<string> {
  const objects = run.plan.rendered.stages.flatMap((s) => s.objects).filter(isClusterPostgres);
  for (const obj of objects) await run.kube.apply(obj);
  await waitUntil(
    run.kube,
    run.state.namespace,
    "StatefulSet postgres",
    (view) => {
      const live = view.get("StatefulSet", "postgres");
      return live ? statefulSetReadiness(live) : { state: "pending", message: "not created yet" };
    },
    { timeoutMs: run.move.timeoutMs, signal },
  );
  return "PostgreSQL is running in the cluster";
}

function isClusterPostgres(obj: KubeObject): boolean {
  if (obj.kind === "ConfigMap" && obj.metadata.name === CONFIGMAP_NAME) return true;
  if (obj.metadata.labels?.["app.kubernetes.io/name"] === "postgres") return true;
  return obj.kind === "NetworkPolicy" && obj.spec?.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "postgres";
}

/** How a move that stopped goes on: the same command finishes it; the old settings go back. */
function moveStopped(run: MovingRun, err: Error, signal: AbortSignal): string {
  const ns = run.state.namespace;
  const why = signal.aborted ? "interrupted" : err.message;
  const back = `${invoked()} install --namespace ${ns} without --postgres-url starts them on the database as it was (${run.move.to === "own" ? "the cluster's" : "your own"})`;
  return `the move stopped: ${why}; the data is where it was unless a step said it is in ${where(run.move)}; web and worker may be stopped: run the same command again to finish the move, or ${back}`;
}

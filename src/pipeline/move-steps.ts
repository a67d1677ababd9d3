/*
 * What an install knows of a move of the data between the cluster's PostgreSQL and your own
 * before it starts one: whether this run makes one, what its plan says, whether a parked
 * PostgreSQL is there. The move's steps are in move-run.ts, loaded only by a run that moves.
 */
import { describePostgres } from "../config/external.js";
import type { ConfigProblem, InstallConfig } from "../config/types.js";
import { snapshotDir } from "../engine/backup-files.js";
import type { Reporter } from "../engine/events.js";
import type { Kube } from "../kube/types.js";
import { lastSuccessfulRun, ownPostgresOf } from "../record/install-record.js";
import type { InstallState } from "../record/store.js";
import { failedBeforeStages, type Move, type PlannedRun, type SnapshotOptions } from "./install-steps.js";

/** The move an install run makes: `--postgres-url` given to an install that runs its own PostgreSQL, or `--postgres-url ""` to one that uses yours. */
export function moveOf(
  state: InstallState,
  config: InstallConfig,
  contextName: string,
  options: SnapshotOptions & { readonly timeoutMs: number },
): Move | undefined {
  const answers = state.record.answers;
  if (!answers || !lastSuccessfulRun(state.record)) return undefined;
  const was = Boolean(answers.postgresUrl);
  const now = config.externalPostgres !== undefined;
  if (was === now) return undefined;
  const dir = options.backup?.dir ?? snapshotDir(options.env ?? process.env, contextName, state.namespace);
  return { to: now ? "own" : "cluster", dir, timeoutMs: options.timeoutMs };
}

/** What the plan says a move does, before anyone confirms it. */
export function moveNotice(move: Move, state: InstallState, config: InstallConfig): string {
  const pending = state.record.moving;
  const url = config.externalPostgres ? shownUrl(config.externalPostgres) : undefined;
  const resumed =
    pending?.to !== move.to
      ? ""
      : pending.url === url
        ? " (an earlier run started it: this one finishes it)"
        : ` (an earlier move to ${pending.url} did not finish: if web and worker ran on that database since, its data is newer than the cluster's; finish that move first, with --postgres-url ${pending.url})`;
  const steps = `web and worker stop, the database is dumped into ${move.dir} (kept as a backup; --no-backup does not apply), the dump is restored beside`;
  if (move.to === "own") {
    const pg = config.externalPostgres!;
    return `moving the data to your own PostgreSQL (${pg.host}:${pg.port}/${pg.database})${resumed}: ${steps} database ${pg.database} there (which must be empty), checked row by row and swapped in; then the migration runs and web and worker start on it. The cluster's PostgreSQL stays, parked (0 replicas, its volume kept): install --postgres-url "" moves the data back`;
  }
  return `moving the data back into the cluster's PostgreSQL${resumed}: the cluster's PostgreSQL starts (on its parked volume, or a new one), ${steps} its database, checked row by row and swapped in; then the migration runs and web and worker start on it. Your own database (${state.record.answers?.postgresUrl}) is left as it is`;
}

/** `--delete-parked-postgres` where nothing is parked, refused by name. */
export function nothingParked(namespace: string): ConfigProblem {
  return {
    field: "--delete-parked-postgres",
    shownValue: "(given)",
    allowed: `only where the install's data moved to your own PostgreSQL and the cluster's is kept parked: namespace ${namespace} has none`,
  };
}

/**
 * What `--delete-parked-postgres` may delete, before any question is asked: false when the
 * record names no PostgreSQL of your own or the cluster holds none of the install's.
 */
export async function mayDeleteParked(state: InstallState, reads: Kube): Promise<boolean> {
  return (
    state.namespaceExists &&
    ownPostgresOf(state.record) !== undefined &&
    (await hasParkedPostgres(reads, state.namespace))
  );
}

/**
 * The cluster's PostgreSQL beside your own, once the answers are known: kept parked (a move
 * out, or one that is there), deleted (`--delete-parked-postgres`), or "refused" where the flag
 * has none to delete.
 */
export async function parkedPostgresOf(
  deleteParked: boolean,
  config: InstallConfig,
  move: Move | undefined,
  state: InstallState,
  reads: Kube,
): Promise<"kept" | "deleted" | "refused" | undefined> {
  const own = config.externalPostgres !== undefined;
  const there = own && state.namespaceExists && move === undefined && (await hasParkedPostgres(reads, state.namespace));
  if (deleteParked) return there ? "deleted" : "refused";
  return own && (move?.to === "own" || there) ? "kept" : undefined;
}

/** Whether the install keeps a PostgreSQL in the cluster beside your own: its StatefulSet is there. */
export async function hasParkedPostgres(kube: Kube, namespace: string): Promise<boolean> {
  const sts = await kube.get({ apiVersion: "apps/v1", kind: "StatefulSet", name: "postgres", namespace });
  return sts?.metadata.labels?.["app.kubernetes.io/part-of"] === "mathison";
}

/**
 * `--delete-parked-postgres`: the parked PostgreSQL's volume deleted before the stages (which
 * prune its StatefulSet and the rest, no longer rendered). Said as a step; a failure stops the run.
 */
export async function parkedVolumeDeleted(run: PlannedRun, reporter: Reporter): Promise<boolean> {
  const ns = run.state.namespace;
  try {
    const claims = (
      await run.kube.list("v1", "PersistentVolumeClaim", ns, { labelSelector: "app.kubernetes.io/name=postgres" })
    ).items;
    for (const claim of claims)
      await run.kube.delete(
        { apiVersion: "v1", kind: "PersistentVolumeClaim", name: claim.metadata.name, namespace: ns },
        { propagation: "Background" },
      );
    const names = claims.map((c) => c.metadata.name).join(", ") || "none left";
    reporter.event({
      event: "step",
      step: "parked",
      status: "done",
      message: `deleted the parked PostgreSQL's volume (${names}); its StatefulSet goes with the stages`,
    });
    return true;
  } catch (err) {
    failedBeforeStages(
      run,
      reporter,
      "parked",
      `deleting the parked PostgreSQL's volume failed: ${(err as Error).message}; nothing else was applied: run the same command again`,
    );
    return false;
  }
}

export function shownUrl(pg: NonNullable<InstallConfig["externalPostgres"]>): string {
  return `postgres://${describePostgres(pg)}`;
}

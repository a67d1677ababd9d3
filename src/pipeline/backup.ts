import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { BackupError, type BackupManifest } from "../engine/backup-files.js";
import { takeBackup } from "../engine/backup.js";
import { withDatabase } from "../engine/own-database.js";
import type { Reporter } from "../engine/events.js";
import type { Kube } from "../kube/types.js";
import { lastSuccessfulRun } from "../record/install-record.js";
import type { InstallState } from "../record/store.js";
import { packageVersion } from "../base/version.js";
import { sizeOf } from "../base/sizes.js";

/** How often a running backup says how far it is. */
const PROGRESS_EVERY_MS = 1_000;

/**
 * A backup of the install's database into `file`, told as `backup` events: running (about every
 * second), then done with where it is, or failed with why (and the error thrown again).
 */
export async function backupWithEvents(
  kube: Kube,
  state: InstallState,
  file: string,
  reporter: Reporter,
  signal?: AbortSignal,
  includeRedis = false,
): Promise<BackupManifest> {
  const last = lastSuccessfulRun(state.record);
  let told = 0;
  let at = { bytes: 0, elapsedMs: 0 };
  try {
    makeDir(dirname(file));
    const manifest = await withDatabase(
      kube,
      state,
      (database) =>
        takeBackup(kube, {
          database,
          namespace: state.namespace,
          file,
          installerVersion: packageVersion(),
          images: { web: last?.webImage, worker: last?.workerImage },
          includeRedis,
          ...(signal ? { signal } : {}),
          onProgress: (bytes, elapsedMs) => {
            at = { bytes, elapsedMs };
            if (elapsedMs - told < PROGRESS_EVERY_MS) return;
            told = elapsedMs;
            reporter.event({ event: "backup", status: "running", file, bytes, elapsedMs, message: "" });
          },
        }),
      signal,
    );
    reporter.event({
      event: "backup",
      status: "done",
      file,
      bytes: manifest.bytes + (manifest.redis?.bytes ?? 0),
      elapsedMs: at.elapsedMs,
      message: `backup of database ${manifest.database.name} written to ${file} (${sizeOf(manifest.bytes)}, sha256 ${manifest.sha256.slice(0, 12)}…${manifest.redis ? `; Redis's snapshot beside it, .rdb, ${sizeOf(manifest.redis.bytes)}` : ""}; its manifest beside it, .json)`,
    });
    return manifest;
  } catch (err) {
    reporter.event({
      event: "backup",
      status: "failed",
      file,
      bytes: at.bytes,
      elapsedMs: at.elapsedMs,
      message: signal?.aborted
        ? "backup interrupted: the partial files were removed"
        : `backup failed: ${(err as Error).message}`,
    });
    throw err;
  }
}

/** The backups' directory, private to the user (0700) when it is made here. */
function makeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new BackupError(
      `cannot create the directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** Why a command takes a backup first, for its `done` when the backup fails. */
export interface BackupFirst {
  /** `the backup before the migration`. */
  readonly what: string;
  /** `nothing was applied`. */
  readonly nothingDone: string;
  /** What to do next, in order. */
  readonly next: readonly string[];
  readonly total: number;
  readonly startedAt: number;
}

/**
 * A backup a command takes before it changes anything; a failed one ends the command with its
 * `done` (nothing changed, what to do next) and false.
 */
export async function backupFirst(
  kube: Kube,
  state: InstallState,
  file: string,
  reporter: Reporter,
  signal: AbortSignal,
  first: BackupFirst,
): Promise<boolean> {
  try {
    await backupWithEvents(kube, state, file, reporter, signal);
    return true;
  } catch (err) {
    if (!(err instanceof BackupError) && !signal.aborted) throw err;
    reporter.event({
      event: "done",
      ok: false,
      outcome: signal.aborted ? "interrupted" : "backup-failed",
      elapsedMs: Date.now() - first.startedAt,
      applied: 0,
      total: first.total,
      message: signal.aborted
        ? `interrupted during ${first.what}: ${first.nothingDone}`
        : `${first.what} failed (${(err as Error).message}): ${first.nothingDone}`,
      next: signal.aborted ? ["run the same command again: it takes a new backup first"] : first.next,
    });
    return false;
  }
}

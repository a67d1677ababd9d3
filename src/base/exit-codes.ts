/** Exit codes, documented in the README. Scripts branch on these: never renumber. */
export const ExitCode = {
  ok: 0,
  /** An unexpected error: a bug in the installer. */
  internal: 1,
  /** Bad flags or values; nothing was applied. */
  usage: 2,
  /** The cluster could not be reached or refused our credentials. */
  clusterAccess: 3,
  /** The API server rejected an object, or a step before the stages failed. */
  apply: 4,
  /** A resource failed or did not become ready in time. */
  wait: 5,
  /** Another run holds this install's lock, or changed the install while this run planned; nothing was applied. */
  locked: 6,
  /** status: a workload is not Ready (Updating, Degraded, Unavailable, Missing) or the migration failed. */
  notHealthy: 7,
  /** status, uninstall: the namespace holds no Mathison install. */
  notInstalled: 8,
  /** A preflight check failed: the cluster cannot take the install as planned; nothing was applied. */
  preflight: 9,
  /** verify: an automated verification check failed (install: applied, but its verification failed). */
  verifyFailed: 10,
  /** The person declined at the confirmation (install's "Install?", uninstall's typed namespace): nothing was changed. */
  cancelled: 11,
  /** A backup could not be made (`backup`, or the one before a migration or --delete-data); nothing was applied. */
  backupFailed: 12,
  /** Interrupted (Ctrl-C / SIGTERM). */
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * What each exit code means: `short` for --help's one line, `meaning` for docs/output.md's table
 * (generated from here by `npm run docs`).
 */
export const EXIT_CODE_MEANINGS: Readonly<Record<ExitCodeValue, { readonly short: string; readonly meaning: string }>> =
  {
    0: { short: "ok", meaning: "success" },
    1: { short: "bug", meaning: "internal error (a bug: please report it)" },
    2: { short: "bad input", meaning: "bad flags or values; nothing was applied" },
    3: {
      short: "cluster access",
      meaning:
        "the cluster could not be reached or refused the credentials (also: the connection was lost during a wait and not back within 60 s)",
    },
    4: {
      short: "a change was not applied",
      meaning:
        "the API server rejected an object, or a step before the stages failed (a move of the data, a switch of Redis, pgvector, a password rotation): the step says why",
    },
    5: {
      short: "not ready / failed / timed out",
      meaning: "a resource failed or did not become ready in time",
    },
    6: {
      short: "another run holds the lock",
      meaning:
        "another run holds the install's lock (or changed the install while this run planned); nothing was applied",
    },
    7: {
      short: "status: not healthy or incomplete",
      meaning:
        "`status`: a workload is not Ready (Updating, Degraded, Unavailable, Missing), the migration failed, or no run has completed (INCOMPLETE)",
    },
    8: {
      short: "no install in the namespace",
      meaning:
        "`status`, `uninstall`, `verify`, `backup`, `restore`: the namespace holds no Mathison install (no install record)",
    },
    9: {
      short: "preflight failed",
      meaning:
        "a preflight check failed, or the API server refused a read the credentials need (403); nothing was applied",
    },
    10: {
      short: "a verification check failed",
      meaning:
        "verification failed: an automated check failed, or a manual one was answered no (`verify`; `install` and `restore` after they succeeded: their `done` says `verify-failed`)",
    },
    11: {
      short: "cancelled at the confirmation",
      meaning:
        'cancelled at the confirmation ("Install?" answered No, uninstall\'s typed name left empty); nothing was changed',
    },
    12: {
      short: "a backup could not be made",
      meaning:
        "a backup could not be made (`backup`; the backup before a migration; the final one before `uninstall --delete-data`); nothing was applied or deleted",
    },
    130: { short: "interrupted", meaning: "interrupted (Ctrl-C, SIGTERM)" },
  };

/** A problem the user can fix; printed as `mathison-install: <message>` plus an optional hint. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    readonly hint?: string,
  ) {
    super(message);
  }
}

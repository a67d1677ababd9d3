/** Exit codes, documented in the README. Scripts branch on these: never renumber. */
export const ExitCode = {
  ok: 0,
  /** An unexpected error: a bug in the installer. */
  internal: 1,
  /** Bad flags or values; nothing was applied. */
  usage: 2,
  /** The cluster could not be reached or refused our credentials. */
  clusterAccess: 3,
  /** The API server rejected an object. */
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

import { ExitCode, type ExitCodeValue } from "../base/exit-codes.js";
import { RUN_OUTCOMES, type RunOutcome } from "./events.js";

/** The exit code of each outcome: a `done` and the exit code of its run always agree. */
export const EXIT_OF_OUTCOME: Readonly<Record<RunOutcome, ExitCodeValue>> = {
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
  unhealthy: ExitCode.notHealthy,
  "not-installed": ExitCode.notInstalled,
};

/** The outcome of a run that ended with `code` without a `done` of its own: the first that code stands for (5: `wait-failed`). */
export function outcomeOfExit(code: ExitCodeValue): RunOutcome {
  return RUN_OUTCOMES.find((o) => EXIT_OF_OUTCOME[o] === code) ?? "internal-error";
}

import { ExitCode } from "../base/exit-codes.js";
import { LEASE_SECONDS } from "../engine/lock.js";

/** How long a run may take to stop after Ctrl-C or SIGTERM (release the lock, record the run) before it ends regardless. */
export const STOP_GRACE_MS = 5_000;

/**
 * Runs `work` with Ctrl-C and SIGTERM turned into `onSignal` (the run stops after the requests in
 * flight and says what was done) instead of killing the process mid-write. A second signal, or a
 * stop still under way `graceMs` after the first, ends the process at once (exit 130), as a user
 * who presses Ctrl-C again expects: the lock's lease then runs out by itself.
 */
export async function whileInterruptible<T>(
  onSignal: () => void,
  work: () => Promise<T>,
  graceMs = STOP_GRACE_MS,
): Promise<T> {
  let watchdog: NodeJS.Timeout | undefined;
  const handler = (): void => {
    if (watchdog) stopNow("interrupted again");
    watchdog = setTimeout(() => stopNow(`still stopping ${graceMs / 1000} s after the interrupt`), graceMs);
    watchdog.unref();
    onSignal();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  try {
    return await work();
  } finally {
    clearTimeout(watchdog);
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  }
}

/** Ends the process now, the terminal as it was found: cooked input, a visible cursor. */
function stopNow(why: string): never {
  if (process.stdin.isTTY && process.stdin.isRaw) process.stdin.setRawMode(false);
  if (process.stderr.isTTY) process.stderr.write("\x1b[?25h\n");
  process.stderr.write(
    `mathison-install: ${why}: stopped at once; the install's lock (if this run held it) frees itself within ${LEASE_SECONDS} s; run the same command again to resume\n`,
  );
  process.exit(ExitCode.interrupted);
}

import type { RunOutcome } from "../engine/events.js";
import { acquireLock, type HeldLock } from "../engine/lock.js";
import { LockHeldError } from "../engine/lock-holder.js";
import { ClusterAccessError, KubeApiError, type Kube } from "../kube/types.js";
import { installChangedSince, type InstallState } from "../record/store.js";
import { ExitCode, type ExitCodeValue } from "../base/exit-codes.js";
import { isCancelled } from "./front-end.js";
import { whileInterruptible } from "./signals.js";

/**
 * The shape every command that changes the cluster shares (install, uninstall): its plan is
 * confirmed first, then the lock is taken, the install checked to be as planned, the work done
 * with Ctrl-C and SIGTERM turned into a stop that says what was done, and the lock released.
 * Every way it can end maps to one line and one exit code here.
 */

/** An exit that says why in one place: the front end shows the line, the caller returns the code. */
export class Stop extends Error {
  constructor(
    readonly code: ExitCodeValue,
    message: string,
    readonly outcome?: RunOutcome,
  ) {
    super(message);
  }
}

/** The command's own words for its failures: `nothing was applied` (install), `nothing was deleted` (uninstall). */
export interface CommandWords {
  readonly nothingDone: string;
}

/** Where the command says why it stopped: a line, and for JSON a `done` event. */
export interface SaysWhy {
  say(line: string, outcome?: RunOutcome): void;
}

/** A held lock, and how the work under it learns that it should stop. */
export interface LockedRun {
  readonly lock: HeldLock;
  /** Aborted by Ctrl-C, SIGTERM or a lost lock. */
  readonly signal: AbortSignal;
  /** What the front end calls when the person interrupts from the screen. */
  readonly onSignal: () => void;
}

export interface LockOptions extends CommandWords {
  /** `--lock-timeout`: how long to wait for another run's lock (0: refuse at once). */
  readonly lockTimeoutMs: number;
  /** The Lease's duration: how soon a run that was killed stops holding the install (default 15 s). */
  readonly leaseSeconds?: number;
}

/**
 * Takes the install's lock (waiting as `--lock-timeout` allows), checks that no other run changed
 * the install since `planned` was read, runs `work` interruptibly, and releases the lock however
 * it ends. A run that finds the lock held or the install changed stops with nothing done.
 */
export async function runLocked<T>(
  kube: Kube,
  planned: InstallState,
  options: LockOptions,
  fe: SaysWhy,
  work: (run: LockedRun) => Promise<T>,
): Promise<T> {
  const interrupt = new AbortController();
  const onSignal = (): void => interrupt.abort();
  // Interruptible from the start: a run waiting for the lock, or holding it before its work begins, stops as cleanly.
  return whileInterruptible(onSignal, async () => {
    const lock = await takeLock(kube, planned, options, fe, interrupt);
    try {
      if (await installChangedSince(kube, planned)) {
        throw new Stop(
          ExitCode.locked,
          `mathison-install: another run changed this install while this one was planning (its record or Secret is newer); ${options.nothingDone}: run again to plan against it`,
          "locked",
        );
      }
      return await work({ lock, signal: interrupt.signal, onSignal });
    } finally {
      await lock.release();
    }
  });
}

/** The lock, or the Stop that says why not: another run holds it (6), or the wait for it was interrupted (130). */
async function takeLock(
  kube: Kube,
  planned: InstallState,
  options: LockOptions,
  fe: SaysWhy,
  interrupt: AbortController,
): Promise<HeldLock> {
  try {
    return await acquireLock(
      kube,
      planned.namespace,
      kube.contextName,
      (message) => interrupt.abort(new Error(message)),
      {
        timeoutMs: options.lockTimeoutMs,
        onWait: (m) => fe.say(`mathison-install: ${m}`),
        signal: interrupt.signal,
        ...(options.leaseSeconds ? { leaseSeconds: options.leaseSeconds } : {}),
      },
    );
  } catch (err) {
    if (err instanceof LockHeldError)
      throw new Stop(ExitCode.locked, `mathison-install: ${err.message}; ${options.nothingDone}`, "locked");
    if (interrupt.signal.aborted)
      throw new Stop(
        ExitCode.interrupted,
        `mathison-install: interrupted while waiting for the install's lock; ${options.nothingDone}`,
        "interrupted",
      );
    throw err;
  }
}

/** How a command that stopped early ends: its line said once, its exit code; anything else is a bug and is thrown. */
export function exitOf(err: unknown, fe: SaysWhy, words: CommandWords): ExitCodeValue {
  if (isCancelled(err)) {
    fe.say(`Cancelled: ${words.nothingDone}.`, "interrupted");
    return ExitCode.interrupted;
  }
  if (err instanceof Stop) {
    fe.say(err.message, err.outcome);
    return err.code;
  }
  if (err instanceof ClusterAccessError || (err instanceof KubeApiError && err.status === 403)) {
    fe.say(
      `mathison-install: cannot reach the cluster: ${err.message}\n  try: kubectl cluster-info with the same --kubeconfig/--context; ${words.nothingDone}`,
      "cluster-access",
    );
    return ExitCode.clusterAccess;
  }
  throw err;
}

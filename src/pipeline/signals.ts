/**
 * Runs `work` with Ctrl-C and SIGTERM turned into `onSignal` (the run stops after the requests in
 * flight and says what was done) instead of killing the process mid-write.
 */
export async function whileInterruptible<T>(onSignal: () => void, work: () => Promise<T>): Promise<T> {
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return await work();
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

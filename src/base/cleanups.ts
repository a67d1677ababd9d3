/**
 * What a run must undo if Ctrl-C ends it while planning (a client pod it made): each registered
 * while it is needed, run by the interrupt's handler before the process ends, within a bound.
 */
const cleanups = new Set<() => Promise<unknown>>();

/** Registers `undo`; the function returned unregisters it (the work ended on its own). */
export function untilDone(undo: () => Promise<unknown>): () => void {
  cleanups.add(undo);
  return () => cleanups.delete(undo);
}

/** Runs every registered undo at once; resolves when all are done or `ms` passed. */
export async function runCleanups(ms: number): Promise<void> {
  const all = [...cleanups].map((undo) => undo().catch(() => undefined));
  cleanups.clear();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(all), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

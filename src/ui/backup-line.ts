import { sizeOf } from "../base/sizes.js";
import type { EngineEvent } from "../engine/events.js";

type BackupEvent = Extract<EngineEvent, { event: "backup" }>;

/** One line for a backup's progress or end: `backing up: 12.3 MB in 2.0 s (6.2 MB/s)`. */
export function backupLine(e: BackupEvent): string {
  const seconds = e.elapsedMs / 1000;
  const rate = seconds > 0 ? ` (${sizeOf(e.bytes / seconds)}/s)` : "";
  if (e.status === "running") return `backing up the database: ${sizeOf(e.bytes)} in ${seconds.toFixed(1)} s${rate}`;
  if (e.status === "done") return `✔ ${e.message}`;
  return `✖ ${e.message}`;
}

import type { EngineEvent, Progress, Reporter } from "../engine/events.js";

let doneWritten = false;

/** Whether this run wrote its `done` (a fallback then writes none: one per stream). */
export function jsonDoneWritten(): boolean {
  return doneWritten;
}

/** A new run's stream (a process runs one; tests run many in one process). */
export function newJsonStream(): void {
  doneWritten = false;
}

/** JSON Lines: one engine event per line, with an ISO timestamp `ts`. Progress is an event too, emitted when it changes. */
export class JsonReporter implements Reporter {
  private lastProgress = "";

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly now: () => Date = () => new Date(),
  ) {}

  event(e: EngineEvent): void {
    if (e.event === "done") doneWritten = true;
    this.out.write(`${JSON.stringify({ ts: this.now().toISOString(), ...e })}\n`);
  }

  progress(p: Progress): void {
    const key = JSON.stringify(p);
    if (key === this.lastProgress) return;
    this.lastProgress = key;
    this.out.write(`${JSON.stringify({ ts: this.now().toISOString(), event: "progress", ...p })}\n`);
  }
}

import type { EngineEvent, Progress, Reporter } from "../engine/events.js";

/** JSON Lines: one engine event per line, with an ISO timestamp `ts`. Progress is an event too. */
export class JsonReporter implements Reporter {
  constructor(private readonly out: NodeJS.WritableStream, private readonly now: () => Date = () => new Date()) {}

  event(e: EngineEvent): void {
    this.out.write(`${JSON.stringify({ ts: this.now().toISOString(), ...e })}\n`);
  }

  progress(p: Progress): void {
    this.out.write(`${JSON.stringify({ ts: this.now().toISOString(), event: "progress", ...p })}\n`);
  }
}

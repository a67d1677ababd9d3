import type { Reporter } from "../engine/events.js";
import { JsonReporter } from "./json-reporter.js";
import { PlainReporter } from "./plain-reporter.js";

export type OutputFormat = "plain" | "json";
export const OUTPUT_FORMATS: readonly OutputFormat[] = ["plain", "json"];

export interface ReporterChoice {
  readonly format: OutputFormat;
  /** Progress goes to stderr so stdout stays clean for data; JSON Lines are the data. */
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The one place that decides how events are shown. */
export function chooseReporter(choice: ReporterChoice): Reporter {
  if (choice.format === "json") return new JsonReporter(choice.stdout);
  const color = choice.stderr.isTTY === true && choice.env["NO_COLOR"] === undefined && choice.env["TERM"] !== "dumb";
  return new PlainReporter(choice.stderr, { color });
}

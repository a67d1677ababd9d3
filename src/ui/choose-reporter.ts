import type { Reporter } from "../engine/events.js";
import { JsonReporter } from "./json-reporter.js";
import { PlainReporter } from "./plain-reporter.js";
import { widthOf } from "./wrap.js";

export type OutputFormat = "plain" | "json";
export const OUTPUT_FORMATS: readonly OutputFormat[] = ["plain", "json"];

export interface ReporterChoice {
  readonly format: OutputFormat;
  /** Progress goes to stderr so stdout stays clean for data; JSON Lines are the data. */
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The one place that decides how events are shown. */
export function chooseReporter(choice: ReporterChoice): Reporter {
  if (choice.format === "json") return new JsonReporter(choice.stdout);
  return new PlainReporter(choice.stderr, {
    color: wantsColor(choice.stderr, choice.env),
    width: widthOf(choice.stderr),
  });
}

/** FORCE_COLOR decides when set (0 or false: never); otherwise a terminal gets colour unless NO_COLOR is set (not empty) or TERM is dumb. */
export function wantsColor(stream: { isTTY?: boolean }, env: Readonly<Record<string, string | undefined>>): boolean {
  const force = env["FORCE_COLOR"];
  if (force !== undefined) return force !== "0" && force !== "false";
  return stream.isTTY === true && !env["NO_COLOR"] && env["TERM"] !== "dumb";
}

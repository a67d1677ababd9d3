import { loadConfig, type GivenSources } from "../config/load.js";
import type { RunOutcome } from "../engine/events.js";
import type { AnswerContext, FrontEnd, PlanEvent } from "../pipeline/front-end.js";
import { chooseReporter, type OutputFormat } from "./choose-reporter.js";
import { scriptVerifyFrontEnd } from "./script-checklist.js";
import { widthOf, wrapLines } from "./wrap.js";
import type { SecretKey } from "../config/secret-keys.js";
import type { CliIO } from "../base/io.js";

export interface ScriptInput {
  readonly flags: Readonly<Record<string, string | undefined>>;
  readonly io: CliIO;
  readonly format: OutputFormat;
  readonly replaceSecrets: readonly SecretKey[];
  /** `--rotate`: secrets generated anew (the database password changed inside PostgreSQL by the run). */
  readonly rotateSecrets?: readonly SecretKey[];
  /** The flags', environment's and values file's settings, read once by the command. */
  readonly given?: GivenSources;
  /** `preflight`: a missing API key is no problem yet (the install will ask for it). */
  readonly apiKeyMayComeLater?: boolean;
}

/**
 * `--non-interactive`: answers from flags, environment, values file and the install record; the
 * plan and progress as plain lines on stderr or JSON Lines on stdout; no question is ever asked.
 */
export function scriptFrontEnd({
  flags,
  io,
  format,
  replaceSecrets,
  rotateSecrets = [],
  given,
  apiKeyMayComeLater = false,
}: ScriptInput): FrontEnd {
  const reporter = chooseReporter({ format, stdout: io.stdout, stderr: io.stderr, env: io.env });
  return {
    chooseContext: async () => undefined,
    resolveAnswers: async ({ installed }: AnswerContext) =>
      loadConfig({
        flags,
        env: io.env,
        ...(given ? { given } : {}),
        forInstall: true,
        installed,
        replaceSecrets,
        rotateSecrets,
        apiKeyMayComeLater,
      }),
    showPlan: (plan: PlanEvent) => reporter.event(plan),
    showCheck: (check) => reporter.event(check),
    confirm: async () => true,
    startReporting: () => reporter,
    stopReporting: async () => undefined,
    ...scriptVerifyFrontEnd(reporter),
    holdsVerdict: true,
    finish: (done) => reporter.event(done),
    say(line: string, outcome?: RunOutcome) {
      // stderr for the person reading the log; in JSON also the `done` event a script waits for.
      io.stderr.write(`${wrapLines([line], widthOf(io.stderr)).join("\n")}\n`);
      if (format === "json" && outcome)
        reporter.event({ event: "done", ok: false, outcome, elapsedMs: 0, applied: 0, total: 0, message: line });
    },
  };
}

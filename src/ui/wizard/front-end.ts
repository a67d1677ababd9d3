import type { GivenSources } from "../../config/load.js";
import type { EngineEvent, Reporter } from "../../engine/events.js";
import type { FrontEnd, PlanEvent, ReportingOptions } from "../../pipeline/front-end.js";
import { mountProgressScreen, type ProgressScreen } from "../ink-progress.js";
import type { RunAction } from "../components/Summary.js";
import { planLines } from "../plan-lines.js";
import { checkLines } from "../../checks/types.js";
import { formatPlain } from "../plain-reporter.js";
import { inkVerifyFrontEnd } from "../ink-checklist.js";
import { resolveWizardAnswers } from "./answers.js";
import { askContext, askYesNo, type PromptIO } from "./wizard.js";
import { writeLines } from "../wrap.js";
import type { SecretKey } from "../../config/secret-keys.js";

export interface WizardInput {
  readonly flags: Readonly<Record<string, string | undefined>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: NodeJS.ReadStream;
  /** Questions, plan and progress screen all draw here, so stdout stays clean. */
  readonly stderr: NodeJS.WriteStream;
  readonly replaceSecrets: readonly SecretKey[];
  /** `--rotate` as given. */
  readonly rotateSecrets?: readonly SecretKey[];
  /** The flags', environment's and values file's settings, read once by the command. */
  readonly given?: GivenSources;
  /** The progress screen's words: install (default) or uninstall. */
  readonly action?: RunAction;
}

/**
 * The interactive front end: @inquirer/prompts questions, the plan and a confirm, then the Ink
 * progress screen. stdin belongs to inquirer until the confirm returns, and to Ink after.
 */
export function wizardFrontEnd(input: WizardInput): FrontEnd {
  const io: PromptIO = { input: input.stdin, output: input.stderr };
  let plan: PlanEvent | undefined;
  let screen: ProgressScreen | undefined;
  let passed = 0;
  return {
    chooseContext: (names) => askContext(names, io),
    resolveAnswers: (ctx) =>
      resolveWizardAnswers(ctx, {
        flags: input.flags,
        env: input.env,
        given: input.given,
        replaceSecrets: input.replaceSecrets,
        rotateSecrets: input.rotateSecrets ?? [],
        io,
      }),
    showPlan(e) {
      plan = e;
      writeLines(input.stderr, [
        "",
        ...(passed > 0 ? [`✔ preflight: ${passed} checks passed`] : []),
        ...(e.dryRun ? ["Dry run: nothing will be changed."] : []),
        ...planLines({ ...e, installed: undefined }),
        "",
      ]);
    },
    // What passed is one line (the plan and confirm must fit the screen); what did not, in full.
    showCheck(check) {
      if (check.status === "pass") passed++;
      else writeLines(input.stderr, checkLines(check));
    },
    // Nothing to change: no question; the run goes on to record and verify the install as it is.
    confirm: async (upgrade, nothingToChange) => {
      if (nothingToChange) {
        writeLines(input.stderr, ["Nothing to change: the install already matches these settings."]);
        return true;
      }
      return askYesNo(upgrade ? "Apply these changes?" : "Install?", io, true);
    },
    startReporting(options: ReportingOptions): Reporter {
      // The plan above already says what a dry run would do; only its end remains to be said.
      if (options.dryRun) return endOnly(input.stderr);
      screen = mountProgressScreen({
        output: input.stderr,
        input: input.stdin,
        url: options.url,
        onInterrupt: options.onInterrupt,
        action: input.action ?? "install",
      });
      if (plan) screen.reporter.event(plan);
      return screen.reporter;
    },
    async stopReporting() {
      const s = screen;
      screen = undefined;
      await s?.close();
    },
    say: (line) => writeLines(input.stderr, [line]),
    holdsVerdict: false,
    // The progress screen said the apply succeeded; a failed verification changes the verdict, and says what next.
    finish(done) {
      if (!done.ok) writeLines(input.stderr, formatPlain(done));
    },
    ...inkVerifyFrontEnd({ output: input.stderr, input: input.stdin }),
  };
}

function endOnly(out: NodeJS.WriteStream): Reporter {
  return {
    event: (e: EngineEvent) => {
      if (e.event === "done") writeLines(out, formatPlain(e));
    },
    progress: () => undefined,
  };
}

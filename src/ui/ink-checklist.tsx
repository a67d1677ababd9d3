import { render } from "ink";
import type { Checklist, VerifyFrontEnd } from "../pipeline/verify.js";
import { formatPlain } from "./plain-reporter.js";
import { widthOf, wrapLines } from "./wrap.js";
import type { ManualAnswer } from "../record/install-record.js";
import {
  checklistDone,
  initialChecklist,
  manualAnswers,
  reduceChecklist,
  type ChecklistAction,
  type ChecklistView,
} from "./checklist-model.js";
import { ChecklistApp } from "./components/ChecklistApp.js";

export interface ChecklistScreenOptions {
  readonly output: NodeJS.WriteStream;
  readonly input: NodeJS.ReadStream;
}

/**
 * The interactive checklist: takes the screen after the install (or for `verify`), shows each
 * automated check as it ends, then asks the manual ones with y / n / s. Where the terminal
 * cannot read single keys, the manual items are not asked.
 */
export function inkChecklist(options: ChecklistScreenOptions): Checklist {
  return async (run) => {
    const canAsk = Boolean(options.input.isTTY && typeof options.input.setRawMode === "function");
    let view: ChecklistView = initialChecklist(run.titles, run.manual, canAsk);
    let answered: (() => void) | undefined;
    const draw = (): void =>
      instance.rerender(<ChecklistApp view={view} url={run.url} namespace={run.namespace} onAnswer={onAnswer} />);
    const dispatch = (a: ChecklistAction): void => {
      view = reduceChecklist(view, a);
      draw();
      if (checklistDone(view)) answered?.();
    };
    const onAnswer = (answer: ManualAnswer): void => dispatch({ type: "answer", answer });
    const instance = render(<ChecklistApp view={view} url={run.url} namespace={run.namespace} onAnswer={onAnswer} />, {
      stdout: options.output,
      stdin: options.input,
      exitOnCtrlC: true,
      patchConsole: false,
    });
    const exited = instance.waitUntilExit().catch(() => undefined);
    const outcomes = await run.automated((outcome) => dispatch({ type: "result", outcome }));
    // Ctrl-C ends the asking: what was answered counts, the rest is left out.
    if (!checklistDone(view))
      await Promise.race([
        new Promise<void>((resolve) => {
          answered = resolve;
        }),
        exited,
      ]);
    instance.unmount();
    await exited;
    return { outcomes, manual: manualAnswers(view) };
  };
}

/** The interactive side of verifying: the checklist screen, then the verdict as a line under it. */
export function inkVerifyFrontEnd(options: ChecklistScreenOptions): VerifyFrontEnd {
  return {
    checklist: inkChecklist(options),
    verified: (e) => void options.output.write(`\n${wrapLines(formatPlain(e), widthOf(options.output)).join("\n")}\n`),
  };
}

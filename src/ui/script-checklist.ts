import type { Reporter } from "../engine/events.js";
import type { Checklist, VerifyFrontEnd } from "../pipeline/verify.js";

/** `--non-interactive`: the automated checks only, one `check` event each, in the checks' order. */
export function scriptChecklist(reporter: Reporter): Checklist {
  return async (run) => {
    const outcomes = await run.automated(() => undefined);
    for (const o of outcomes) reporter.event({ event: "check", phase: "verify", ...o });
    return { outcomes, manual: {} };
  };
}

/** The scripted side of verifying: `check` events, then a `verified` event. */
export function scriptVerifyFrontEnd(reporter: Reporter): VerifyFrontEnd {
  return { checklist: scriptChecklist(reporter), verified: (e) => reporter.event(e) };
}

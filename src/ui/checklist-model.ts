import type { CheckOutcome } from "../checks/types.js";
import type { ManualCheck } from "../checks/verify/manual.js";
import type { ManualAnswer } from "../record/install-record.js";

/** What the checklist screen shows: a row per automated check, then the manual items in turn. */
export interface ChecklistView {
  readonly rows: readonly { readonly id: string; readonly group: string; readonly title: string; readonly outcome?: CheckOutcome }[];
  readonly manual: readonly { readonly check: ManualCheck; readonly answer?: ManualAnswer }[];
  /** Whether a person can answer here (a terminal with raw mode): without one the manual items are not asked. */
  readonly canAsk: boolean;
}

export type ChecklistAction =
  | { readonly type: "result"; readonly outcome: CheckOutcome }
  | { readonly type: "answer"; readonly answer: ManualAnswer };

export function initialChecklist(titles: ChecklistView["rows"], manual: readonly ManualCheck[], canAsk: boolean): ChecklistView {
  return { rows: titles.map(({ id, group, title }) => ({ id, group, title })), manual: manual.map((check) => ({ check })), canAsk };
}

export const automatedDone = (v: ChecklistView): boolean => v.rows.every((r) => r.outcome);

/** The manual item waiting for an answer: asked only once every automated check has ended. */
export function askingIndex(v: ChecklistView): number | undefined {
  if (!v.canAsk || !automatedDone(v)) return undefined;
  const i = v.manual.findIndex((m) => !m.answer);
  return i < 0 ? undefined : i;
}

export const checklistDone = (v: ChecklistView): boolean => automatedDone(v) && askingIndex(v) === undefined;

export function reduceChecklist(v: ChecklistView, a: ChecklistAction): ChecklistView {
  switch (a.type) {
    case "result":
      return { ...v, rows: v.rows.map((r) => (r.id === a.outcome.id ? { ...r, outcome: a.outcome } : r)) };
    case "answer": {
      const i = askingIndex(v);
      if (i === undefined) return v;
      return { ...v, manual: v.manual.map((m, j) => (j === i ? { ...m, answer: a.answer } : m)) };
    }
  }
}

/** The person's answers by id; items never asked are left out. */
export function manualAnswers(v: ChecklistView): Record<string, ManualAnswer> {
  return Object.fromEntries(v.manual.filter((m) => m.answer).map((m) => [m.check.id, m.answer!]));
}

/** The keys a manual item takes: y, n, s (and Enter for yes). */
export function answerForKey(input: string, enter: boolean): ManualAnswer | undefined {
  if (enter || input === "y") return "yes";
  if (input === "n") return "no";
  if (input === "s") return "skip";
  return undefined;
}

import type { CheckOutcome } from "../checks/types.js";
import type { ManualCheck } from "../checks/verify/manual.js";
import type { ManualAnswer } from "../record/install-record.js";

/** What the checklist screen shows: a row per automated check, then the manual items in turn. */
export interface ChecklistView {
  readonly rows: readonly {
    readonly id: string;
    readonly group: string;
    readonly title: string;
    readonly outcome?: CheckOutcome;
  }[];
  readonly manual: readonly {
    readonly check: ManualCheck;
    readonly answer?: ManualAnswer;
    readonly skippedBecause?: string;
  }[];
  /** Whether a person can answer here (a terminal with raw mode): without one the manual items are not asked. */
  readonly canAsk: boolean;
  /**
   * What has ended, in the order it ended: `group:<name>`, `by-hand` (the manual items' heading),
   * `manual:<id>`. The screen writes these once, above the live rows (Ink's Static), so the
   * part it redraws stays a few rows and the scrollback holds one copy of each.
   */
  readonly finished: readonly string[];
}

export type ChecklistAction =
  | { readonly type: "result"; readonly outcome: CheckOutcome }
  | { readonly type: "answer"; readonly answer: ManualAnswer };

export function initialChecklist(
  titles: ChecklistView["rows"],
  manual: readonly ManualCheck[],
  canAsk: boolean,
): ChecklistView {
  return {
    rows: titles.map(({ id, group, title }) => ({ id, group, title })),
    manual: manual.map((check) => ({ check })),
    canAsk,
    finished: [],
  };
}

/** The view with what ended since appended to `finished`: groups whose checks all ended, then the manual heading and answered items. */
function withFinished(v: ChecklistView): ChecklistView {
  const finished = [...v.finished];
  const add = (key: string): void => {
    if (!finished.includes(key)) finished.push(key);
  };
  for (const group of new Set(v.rows.map((r) => r.group))) {
    if (v.rows.filter((r) => r.group === group).every((r) => r.outcome)) add(`group:${group}`);
  }
  if (automatedDone(v) && v.canAsk) {
    add("by-hand");
    for (const m of v.manual) {
      if (!m.answer) break;
      add(`manual:${m.check.id}`);
    }
  }
  return finished.length === v.finished.length ? v : { ...v, finished };
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
      return withFinished(
        withPrerequisites({
          ...v,
          rows: v.rows.map((r) => (r.id === a.outcome.id ? { ...r, outcome: a.outcome } : r)),
        }),
      );
    case "answer": {
      const i = askingIndex(v);
      if (i === undefined) return v;
      return withFinished({ ...v, manual: v.manual.map((m, j) => (j === i ? { ...m, answer: a.answer } : m)) });
    }
  }
}

/** Once every automated check has ended: items whose prerequisites failed are skipped, saying which (they cannot work). */
function withPrerequisites(v: ChecklistView): ChecklistView {
  if (!automatedDone(v) || !v.canAsk) return v;
  return {
    ...v,
    manual: v.manual.map((m) => {
      if (m.answer) return m;
      const failed = v.rows.filter((r) => m.check.needs.includes(r.id) && r.outcome?.status === "fail");
      return failed.length > 0
        ? { ...m, answer: "skip", skippedBecause: `not asked: ${failed.map((r) => r.title).join(", ")} failed above` }
        : m;
    }),
  };
}

/** The automated checks that passed, by id: troubleshooting never blames one of them. */
export function passedIds(v: ChecklistView): ReadonlySet<string> {
  return new Set(v.rows.filter((r) => r.outcome?.status === "pass").map((r) => r.id));
}

/** The prerequisites of an item that did not pass (warnings): where a "no" should look first. */
export function relatedNotPassed(v: ChecklistView, check: ManualCheck): string[] {
  return v.rows
    .filter((r) => check.needs.includes(r.id) && r.outcome && r.outcome.status !== "pass")
    .map((r) => `${r.title} (${r.outcome!.status})`);
}

/** The person's answers by id; items never asked are left out. */
export function manualAnswers(v: ChecklistView): Record<string, ManualAnswer> {
  return Object.fromEntries(v.manual.filter((m) => m.answer).map((m) => [m.check.id, m.answer!]));
}

/** The keys a manual item takes: y, n, s; Enter is "not checked" (skip), never a yes nobody gave. */
export function answerForKey(input: string, enter: boolean): ManualAnswer | undefined {
  if (input === "y") return "yes";
  if (input === "n") return "no";
  if (enter || input === "s") return "skip";
  return undefined;
}

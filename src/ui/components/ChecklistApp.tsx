import { Box, Text, useInput, useStdin } from "ink";
import type { ChecklistView } from "../checklist-model.js";
import { answerForKey, askingIndex, automatedDone, passedIds, relatedNotPassed } from "../checklist-model.js";
import type { ManualAnswer } from "../../record/install-record.js";
import { CheckRow } from "./CheckRow.js";
import { ManualItem } from "./ManualItem.js";

export interface ChecklistAppProps {
  readonly view: ChecklistView;
  readonly url: string;
  readonly namespace: string;
  readonly onAnswer: (answer: ManualAnswer) => void;
}

function AnswerKeys({ onAnswer }: { readonly onAnswer: (a: ManualAnswer) => void }) {
  useInput((input, key) => {
    const a = answerForKey(input, key.return);
    if (a) onAnswer(a);
  });
  return null;
}

/** The verification checklist: automated rows grouped as the seeds group them, then the manual items. */
export function ChecklistApp({ view, url, namespace, onAnswer }: ChecklistAppProps) {
  const { isRawModeSupported } = useStdin();
  const asking = askingIndex(view);
  const groups = [...new Set(view.rows.map((r) => r.group))];
  return (
    <Box flexDirection="column">
      <Text bold>Verification</Text>
      {groups.map((g) => {
        const rows = view.rows.filter((r) => r.group === g);
        // Once every check has ended, a group that passed whole folds into one line, so the manual items fit the screen.
        if (automatedDone(view) && rows.every((r) => r.outcome?.status === "pass")) {
          return <Text key={g}><Text color="green">✔</Text> {g}: {rows.length} of {rows.length} passed</Text>;
        }
        return (
          <Box key={g} flexDirection="column">
            <Text underline>{g}</Text>
            {rows.map((r) => <CheckRow key={r.id} title={r.title} outcome={r.outcome} />)}
          </Box>
        );
      })}
      {automatedDone(view) && view.canAsk ? (
        <Box flexDirection="column">
          <Text underline>By hand</Text>
          {view.manual.map((m, i) => (
            <ManualItem key={m.check.id} check={m.check} answer={m.answer} skippedBecause={m.skippedBecause} related={relatedNotPassed(view, m.check)}
              passed={passedIds(view)} asking={i === asking} url={url} namespace={namespace} />
          ))}
        </Box>
      ) : null}
      {isRawModeSupported && asking !== undefined ? <AnswerKeys onAnswer={onAnswer} /> : null}
    </Box>
  );
}

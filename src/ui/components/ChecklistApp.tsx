import { Box, Static, Text, useInput, useStdin } from "ink";
import type { ChecklistView } from "../checklist-model.js";
import { answerForKey, askingIndex, passedIds, relatedNotPassed } from "../checklist-model.js";
import type { ManualAnswer } from "../../record/install-record.js";
import { CheckGroup } from "./CheckGroup.js";
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

/**
 * The verification checklist: automated rows grouped as the seeds group them, then the manual
 * items. What has ended is written once above (Static), in the order it ended; only the groups
 * still running and the item being asked are redrawn, so the screen never outgrows the terminal.
 */
export function ChecklistApp({ view, url, namespace, onAnswer }: ChecklistAppProps) {
  const { isRawModeSupported } = useStdin();
  const asking = askingIndex(view);
  const groups = [...new Set(view.rows.map((r) => r.group))];
  const item = (key: string) => {
    if (key === "title")
      return (
        <Text key={key} bold>
          Verification
        </Text>
      );
    if (key === "by-hand")
      return (
        <Text key={key} underline>
          By hand
        </Text>
      );
    if (key.startsWith("group:")) {
      const group = key.slice("group:".length);
      return <CheckGroup key={key} group={group} rows={view.rows.filter((r) => r.group === group)} />;
    }
    const m = view.manual.find((x) => `manual:${x.check.id}` === key)!;
    return (
      <ManualItem
        key={key}
        check={m.check}
        answer={m.answer}
        skippedBecause={m.skippedBecause}
        related={relatedNotPassed(view, m.check)}
        passed={passedIds(view)}
        asking={false}
        url={url}
        namespace={namespace}
      />
    );
  };
  const current = asking === undefined ? undefined : view.manual[asking];
  return (
    <Box flexDirection="column">
      <Static items={["title", ...view.finished]}>{item}</Static>
      {groups
        .filter((g) => !view.finished.includes(`group:${g}`))
        .map((g) => (
          <CheckGroup key={g} group={g} rows={view.rows.filter((r) => r.group === g)} />
        ))}
      {current ? (
        <ManualItem
          check={current.check}
          related={relatedNotPassed(view, current.check)}
          passed={passedIds(view)}
          asking
          url={url}
          namespace={namespace}
        />
      ) : null}
      {isRawModeSupported && asking !== undefined ? <AnswerKeys onAnswer={onAnswer} /> : null}
    </Box>
  );
}

import { Box, Text } from "ink";
import type { ChecklistView } from "../checklist-model.js";
import { CheckRow } from "./CheckRow.js";

export interface CheckGroupProps {
  readonly group: string;
  readonly rows: ChecklistView["rows"];
}

/** One group of automated checks: its rows while any runs or did not pass; one line once all of them passed. */
export function CheckGroup({ group, rows }: CheckGroupProps) {
  if (rows.every((r) => r.outcome?.status === "pass")) {
    return <Text><Text color="green">✔</Text> {group}: {rows.length} of {rows.length} passed</Text>;
  }
  return (
    <Box flexDirection="column">
      <Text underline>{group}</Text>
      {rows.map((r) => <CheckRow key={r.id} title={r.title} outcome={r.outcome} />)}
    </Box>
  );
}

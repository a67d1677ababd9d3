import { Box, Text } from "ink";
import type { ChecklistView } from "../checklist-model.js";
import { CheckRow } from "./CheckRow.js";
import { Spinner } from "./Spinner.js";
import { useColumns } from "./use-columns.js";

export interface CheckGroupProps {
  readonly group: string;
  readonly rows: ChecklistView["rows"];
}

/**
 * One group of automated checks. While any runs: one line (what ended, what still runs), so the
 * live part of the screen stays a few rows at any terminal size; once all ended: its rows with
 * the hints under what did not pass, or one line when all of them passed.
 */
export function CheckGroup({ group, rows }: CheckGroupProps) {
  const columns = useColumns();
  const running = rows.filter((r) => !r.outcome);
  if (running.length > 0) {
    const line = `${group}: ${rows.length - running.length} of ${rows.length} ended; ${running.map((r) => r.title).join(", ")}`;
    return (
      <Text>
        <Spinner /> {line.length > columns - 2 ? `${line.slice(0, columns - 3)}…` : line}
      </Text>
    );
  }
  if (rows.every((r) => r.outcome?.status === "pass")) {
    return (
      <Text>
        <Text color="green">✔</Text> {group}: {rows.length} of {rows.length} passed
      </Text>
    );
  }
  return (
    <Box flexDirection="column">
      <Text underline>{group}</Text>
      {rows.map((r) => (
        <CheckRow key={r.id} title={r.title} outcome={r.outcome} />
      ))}
    </Box>
  );
}

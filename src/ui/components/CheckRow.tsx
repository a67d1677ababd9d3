import { Box, Text } from "ink";
import type { CheckOutcome } from "../../checks/types.js";
import { SYMBOL } from "../../checks/types.js";
import { Indented } from "./Indented.js";
import { Spinner } from "./Spinner.js";

export interface CheckRowProps {
  readonly title: string;
  readonly outcome?: CheckOutcome | undefined;
}

const COLOR = { pass: "green", warn: "yellow", fail: "red", skip: "gray" } as const;

/** One automated check: a spinner while it runs, then ✔/‼/✖/– with its message, and the hint under anything but a pass. */
export function CheckRow({ title, outcome }: CheckRowProps) {
  if (!outcome) return <Text><Spinner /> {title}</Text>;
  return (
    <Box flexDirection="column">
      <Box>
        <Text color={COLOR[outcome.status]}>{SYMBOL[outcome.status]} </Text>
        <Box flexGrow={1}><Text wrap="wrap">{title}: {outcome.message}</Text></Box>
      </Box>
      {outcome.hint && outcome.status !== "pass" ? <Indented lines={outcome.hint.split("\n")} /> : null}
    </Box>
  );
}

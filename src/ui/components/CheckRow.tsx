import { Box, Text } from "ink";
import type { CheckOutcome } from "../../checks/types.js";
import { SYMBOL } from "../../checks/types.js";
import { wrapLine } from "../wrap.js";
import { Indented } from "./Indented.js";
import { Spinner } from "./Spinner.js";
import { useColumns } from "./use-columns.js";

export interface CheckRowProps {
  readonly title: string;
  readonly outcome?: CheckOutcome | undefined;
}

const COLOR = { pass: "green", warn: "yellow", fail: "red", skip: "gray" } as const;

/** One automated check: a spinner while it runs, then ✔/‼/✖/– with its message (wrapped at words, hanging), and the hint under anything but a pass. */
export function CheckRow({ title, outcome }: CheckRowProps) {
  const columns = useColumns();
  if (!outcome)
    return (
      <Text>
        <Spinner /> {title}
      </Text>
    );
  const [first, ...rest] = wrapLine(`${SYMBOL[outcome.status]} ${title}: ${outcome.message}`, columns);
  return (
    <Box flexDirection="column">
      <Text>
        <Text color={COLOR[outcome.status]}>{first!.slice(0, 1)}</Text>
        {first!.slice(1)}
      </Text>
      {rest.map((l, i) => (
        <Text key={i}>{l}</Text>
      ))}
      {outcome.hint && outcome.status !== "pass" ? <Indented lines={outcome.hint.split("\n")} /> : null}
    </Box>
  );
}

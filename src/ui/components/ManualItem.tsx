import { Box, Text } from "ink";
import type { ManualCheck } from "../../checks/verify/manual.js";
import type { ManualAnswer } from "../../record/install-record.js";
import { wrapLine } from "../wrap.js";
import { Indented } from "./Indented.js";
import { useColumns } from "./use-columns.js";

export interface ManualItemProps {
  readonly check: ManualCheck;
  readonly answer?: ManualAnswer | undefined;
  /** Why it was not asked (its prerequisites failed). */
  readonly skippedBecause?: string | undefined;
  /** Automated checks it depends on that did not pass: where a "no" looks first. */
  readonly related: readonly string[];
  readonly passed: ReadonlySet<string>;
  readonly asking: boolean;
  readonly url: string;
  readonly namespace: string;
}

const MARK: Record<ManualAnswer, { symbol: string; color: string }> = {
  yes: { symbol: "✔", color: "green" },
  no: { symbol: "✖", color: "red" },
  skip: { symbol: "–", color: "gray" },
};

/** One check a person makes: what to do while it is asked, the answer after, and the troubleshooting for a "no". */
export function ManualItem({
  check,
  answer,
  skippedBecause,
  related,
  passed,
  asking,
  url,
  namespace,
}: ManualItemProps) {
  const columns = useColumns();
  if (asking) {
    return (
      <Box flexDirection="column">
        <Text bold>? {check.title}</Text>
        {wrapLine(`    ${check.todo(url)}`, columns).map((l, i) => (
          <Text key={i}>{l}</Text>
        ))}
        <Text color="cyan">{"    Did it work? y yes · n no · s or Enter: not checked"}</Text>
      </Box>
    );
  }
  if (!answer) return <Text dimColor>· {check.title}</Text>;
  const [first, ...rest] = wrapLine(
    `${MARK[answer].symbol} ${check.title}${answer === "skip" ? ` (${skippedBecause ?? "not checked"})` : ""}`,
    columns,
  );
  return (
    <Box flexDirection="column">
      <Text>
        <Text color={MARK[answer].color}>{first!.slice(0, 1)}</Text>
        {first!.slice(1)}
      </Text>
      {rest.map((l, i) => (
        <Text key={i}>{l}</Text>
      ))}
      {answer === "no" ? (
        <Indented
          lines={[...related.map((r) => `first see ${r} above`), ...check.troubleshooting(namespace, url, passed)]}
        />
      ) : null}
    </Box>
  );
}

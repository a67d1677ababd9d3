import { Box, Text } from "ink";
import type { ViewModel } from "../view-model.js";

export interface FailurePanelProps {
  readonly failure: NonNullable<ViewModel["failure"]>;
}

export function FailurePanel({ failure }: FailurePanelProps) {
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="red" paddingX={1}>
      <Text color="red" bold>✖ {failure.object ? `${failure.object}: ` : ""}{failure.reason}</Text>
      <Text wrap="wrap">{failure.message}</Text>
      {failure.logs.length > 0 ? (
        <Box flexDirection="column" marginTop={1}>
          <Text dimColor>last log lines:</Text>
          {failure.logs.slice(-8).map((l, i) => (
            <Text key={i} wrap="truncate-end">│ {l}</Text>
          ))}
        </Box>
      ) : null}
      {failure.hint ? <Text color="cyan" wrap="wrap">hint: {failure.hint}</Text> : null}
    </Box>
  );
}

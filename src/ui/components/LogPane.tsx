import { Box, Text } from "ink";

export interface LogPaneProps {
  readonly title: string;
  readonly lines: readonly { readonly pod: string; readonly line: string }[];
}

export function LogPane({ title, lines }: LogPaneProps) {
  if (lines.length === 0) return null;
  return (
    <Box flexDirection="column" borderStyle="round" borderDimColor paddingX={1}>
      <Text dimColor>{title}</Text>
      {lines.map((l, i) => (
        <Text key={i} wrap="wrap">
          {l.line}
        </Text>
      ))}
    </Box>
  );
}

import { Box, Text } from "ink";

export interface IndentedProps {
  readonly lines: readonly string[];
}

/** Lines under a row, each wrapped at words with its continuation lines kept under its first (not at the screen's edge). */
export function Indented({ lines }: IndentedProps) {
  return (
    <Box flexDirection="column" paddingLeft={4}>
      {lines.map((l, i) => <Text key={i} dimColor wrap="wrap">{l}</Text>)}
    </Box>
  );
}

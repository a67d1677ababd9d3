import { Box, Text } from "ink";
import { wrapLine } from "../wrap.js";
import { useColumns } from "./use-columns.js";

export interface IndentedProps {
  readonly lines: readonly string[];
}

/** Lines under a row, indented, each wrapped at words with its continuation lines kept under its first (a command stays whole). */
export function Indented({ lines }: IndentedProps) {
  const columns = useColumns();
  return (
    <Box flexDirection="column">
      {lines
        .flatMap((l) => wrapLine(`    ${l}`, columns))
        .map((l, i) => (
          <Text key={i} dimColor>
            {l}
          </Text>
        ))}
    </Box>
  );
}

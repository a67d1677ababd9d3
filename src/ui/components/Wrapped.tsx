import { Box, Text } from "ink";
import { wrapLine } from "../wrap.js";
import { useColumns } from "./use-columns.js";

export interface WrappedProps {
  readonly text: string;
  /** Spaces before every line. */
  readonly indent?: number;
  readonly dimColor?: boolean;
}

/** A paragraph wrapped at words to the terminal (Ink's own wrapping starts continuation lines with the space it broke at). */
export function Wrapped({ text, indent = 0, dimColor = false }: WrappedProps) {
  const columns = useColumns();
  return (
    <Box flexDirection="column">
      {wrapLine(`${" ".repeat(indent)}${text}`, columns).map((l, i) => (
        <Text key={i} dimColor={dimColor}>
          {i === 0 || indent === 0 ? l : `${" ".repeat(indent)}${l.trimStart()}`}
        </Text>
      ))}
    </Box>
  );
}

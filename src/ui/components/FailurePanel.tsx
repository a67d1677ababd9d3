import { Box, Text } from "ink";
import type { ViewModel } from "../view-model.js";
import { useColumns } from "./use-columns.js";

export interface FailurePanelProps {
  readonly failure: NonNullable<ViewModel["failure"]>;
  readonly namespace: string;
}

/** `kubectl logs` names for the kinds whose pods fail: the command that shows a failing container's whole log. */
const LOG_TARGET: Readonly<Record<string, string>> = { Job: "job", Deployment: "deploy", StatefulSet: "statefulset" };

/** The whole log, for the lines the panel shows the end of. */
export function wholeLogCommand(object: string | undefined, namespace: string): string | undefined {
  const [kind, name] = (object ?? "").split("/");
  const target = kind ? LOG_TARGET[kind] : undefined;
  return target && name ? `kubectl -n ${namespace} logs ${target}/${name} --previous` : undefined;
}

/** What failed, its last log lines (wrapped, never cut), where the whole log is, and the hint. */
export function FailurePanel({ failure, namespace }: FailurePanelProps) {
  const whole = wholeLogCommand(failure.object, namespace);
  // An explicit width: drawn once in Ink's Static area, a box is otherwise laid out a column wider than the terminal.
  const columns = useColumns();
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="red" paddingX={1} width={columns}>
      <Text color="red" bold>
        ✖ {failure.object ? `${failure.object}: ` : ""}
        {failure.reason}
      </Text>
      <Text wrap="wrap">{failure.message}</Text>
      {failure.logs.length > 0 ? (
        <Box flexDirection="column" marginTop={1}>
          <Text dimColor>last log lines:</Text>
          {failure.logs.slice(-8).map((l, i) => (
            <Box key={i}>
              <Text dimColor>│ </Text>
              <Box flexGrow={1}>
                <Text wrap="wrap">{l}</Text>
              </Box>
            </Box>
          ))}
          {whole ? <Text dimColor>the whole log (or logs/ in the support bundle):</Text> : null}
          {whole ? <Text dimColor>{whole}</Text> : null}
        </Box>
      ) : null}
      {failure.hint ? (
        <Text color="cyan" wrap="wrap">
          hint: {failure.hint}
        </Text>
      ) : null}
    </Box>
  );
}

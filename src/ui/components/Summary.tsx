import { Box, Text } from "ink";
import { OUTCOME_WORDS } from "../plain-reporter.js";
import { Wrapped } from "./Wrapped.js";
import type { ViewModel } from "../view-model.js";
import { invoked } from "../../base/invocation.js";

export type RunAction = "install" | "uninstall";

export interface SummaryProps {
  readonly done: NonNullable<ViewModel["done"]>;
  readonly url: string;
  readonly namespace: string;
  readonly dryRun: boolean;
  readonly action: RunAction;
}

export function Summary({ done, url, namespace, dryRun, action }: SummaryProps) {
  if (!done.ok) {
    return (
      <Box flexDirection="column" marginTop={1}>
        <Text color="red" bold>
          ✖ {action} stopped: {OUTCOME_WORDS[done.outcome]}
        </Text>
        {done.resume ? <Wrapped text={done.resume} /> : null}
      </Box>
    );
  }
  if (dryRun) return <Text color="green">✔ {done.message}</Text>;
  if (action === "uninstall") {
    return (
      <Box flexDirection="column">
        <Text color="green" bold>
          ✔ {done.message} ({(done.elapsedMs / 1000).toFixed(1)} s)
        </Text>
        {(done.next ?? []).map((n, i) => (
          <Wrapped key={i} text={n} indent={2} />
        ))}
      </Box>
    );
  }
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text color="green" bold>
        ✔ {done.message} ({(done.elapsedMs / 1000).toFixed(1)} s)
      </Text>
      <Text>{`  Open ${url}`}</Text>
      <Text dimColor>{`  kubectl -n ${namespace} get pods                  what runs`}</Text>
      <Text dimColor>{`  kubectl -n ${namespace} logs deploy/mathison-web  the web log`}</Text>
      <Text dimColor>{`  ${invoked()} install  re-run to upgrade (secrets are kept)`}</Text>
    </Box>
  );
}

import { Box, Text } from "ink";
import type { ResourceView } from "../view-model.js";

export interface ResourceRowProps {
  readonly resource: ResourceView;
}

const ACTION_COLOR: Record<string, string> = {
  created: "green",
  configured: "yellow",
  create: "green",
  change: "yellow",
  replace: "yellow",
  delete: "red",
  deleted: "red",
};

export function ResourceRow({ resource }: ResourceRowProps) {
  const { object, action, state, message, stall } = resource;
  const stateColor = state === "ready" ? "green" : state === "failed" ? "red" : undefined;
  return (
    <Box flexDirection="column">
      <Box>
        <Box width={38} flexShrink={0}>
          <Text wrap="truncate-end"> {object}</Text>
        </Box>
        <Box width={11} flexShrink={0}>
          <Text
            color={action ? ACTION_COLOR[action] : undefined}
            dimColor={!action || action === "unchanged" || action === "none"}
          >
            {action ?? "·"}
          </Text>
        </Box>
        {message ? (
          <Text color={stateColor} wrap="truncate-end">
            {message}
          </Text>
        ) : null}
      </Box>
      {stall ? (
        <Box paddingLeft={4}>
          <Text color="yellow" wrap="truncate-end">
            ‼ {stall.reason}: {stall.message}
          </Text>
        </Box>
      ) : null}
    </Box>
  );
}

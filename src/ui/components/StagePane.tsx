import { Box, Text } from "ink";
import type { StageView } from "../view-model.js";
import { ResourceRow } from "./ResourceRow.js";
import { Spinner } from "./Spinner.js";

export interface StagePaneProps {
  readonly stage: StageView;
  readonly index: number;
  readonly total: number;
  readonly now: number;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** One stage: its header always; its resources while it runs or after it failed, so 80×24 stays readable. */
export function StagePane({ stage, index, total, now }: StagePaneProps) {
  const icon =
    stage.status === "running" ? (
      <Spinner />
    ) : stage.status === "done" ? (
      <Text color="green">✔</Text>
    ) : stage.status === "failed" ? (
      <Text color="red">✖</Text>
    ) : (
      <Text dimColor>·</Text>
    );
  const elapsed =
    stage.status === "running" && stage.startedAt !== undefined ? Math.max(0, now - stage.startedAt) : stage.elapsedMs;
  const open = stage.status === "running" || stage.status === "failed";
  return (
    <Box flexDirection="column">
      <Box>
        {icon}
        <Text bold={open} dimColor={stage.status === "pending"}>
          {" "}
          [{index + 1}/{total}] {stage.title}
        </Text>
        {elapsed !== undefined ? <Text dimColor> {seconds(elapsed)}</Text> : null}
        {stage.waiting && stage.waiting.on.length > 0 ? (
          <Text
            dimColor
          >{`  waiting on ${stage.waiting.on.length} [${stage.waiting.done}/${stage.waiting.total} done]`}</Text>
        ) : null}
      </Box>
      {open ? stage.resources.map((r) => <ResourceRow key={r.object} resource={r} />) : null}
    </Box>
  );
}

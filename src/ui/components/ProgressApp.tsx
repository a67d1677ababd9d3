import { Box, Static, Text, useInput, useStdin } from "ink";
import { useEffect, useState, useSyncExternalStore } from "react";
import type { ViewStore } from "../view-store.js";
import { FailurePanel } from "./FailurePanel.js";
import { LogPane } from "./LogPane.js";
import { StagePane } from "./StagePane.js";
import { Summary, type RunAction } from "./Summary.js";
import { Wrapped } from "./Wrapped.js";

export interface ProgressAppProps {
  readonly store: ViewStore;
  readonly url: string;
  /** What the run does: the header and the end summary say it. */
  readonly action?: RunAction;
  /** Called on Ctrl-C: the engine stops after the requests in flight. */
  readonly onInterrupt: () => void;
}

function InterruptKey({ onInterrupt }: { readonly onInterrupt: () => void }) {
  useInput((input, key) => {
    if (key.ctrl && input === "c") onInterrupt();
  });
  return null;
}

/** The apply phase: a pane per stage, the migration log, the failure, the end summary. */
export function ProgressApp({ store, url, onInterrupt, action = "install" }: ProgressAppProps) {
  const view = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const { isRawModeSupported } = useStdin();
  const [now, setNow] = useState(Date.now());
  const running = !view.done;
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, [running]);
  // What has ended is written once, above the live part (Ink's Static): the screen redraws only
  // the stages to come, so a tall failure never leaves copies of itself in the scrollback. The
  // failure is shown with its stage's end, which the engine reports right after it.
  const ended = view.stages.filter((s) => s.status === "done" || s.status === "failed");
  const failureEnded = view.failure !== undefined && ended.some((s) => s.id === view.failure!.stage);
  const items = [
    ...(view.context ? ["header"] : []),
    ...ended.map((s) => `stage:${s.id}`),
    ...(failureEnded ? ["failure"] : []),
  ];
  const item = (key: string) => {
    if (key === "header")
      return (
        <Text key={key} dimColor>
          {view.dryRun
            ? "Dry run against"
            : action === "uninstall"
              ? "Removing from"
              : view.upgrade
                ? "Upgrading in"
                : "Installing into"}{" "}
          {view.context}, namespace {view.namespace}
        </Text>
      );
    if (key === "failure") return <FailurePanel key={key} failure={view.failure!} namespace={view.namespace ?? ""} />;
    const i = view.stages.findIndex((s) => `stage:${s.id}` === key);
    return <StagePane key={key} stage={view.stages[i]!} index={i} total={view.stages.length} now={now} />;
  };
  return (
    <Box flexDirection="column">
      {/* Ink reads keys only where the terminal allows raw mode; elsewhere Ctrl-C arrives as SIGINT. */}
      {isRawModeSupported ? <InterruptKey onInterrupt={onInterrupt} /> : null}
      <Static items={items}>{item}</Static>
      {view.notice ? <Text color="yellow">‼ {view.notice}</Text> : null}
      {view.backup ? <Text dimColor={!view.backup.startsWith("✖")}>{view.backup}</Text> : null}
      {view.step ? <Text dimColor={!view.step.startsWith("✖")}>{view.step}</Text> : null}
      {view.stages.map((s, i) =>
        ended.includes(s) ? null : <StagePane key={s.id} stage={s} index={i} total={view.stages.length} now={now} />,
      )}
      {/* The migration log matters while it runs and when something failed; a finished install keeps the screen to 24 rows. */}
      {view.done?.ok ? null : <LogPane title="migration log" lines={view.logs} />}
      {view.interrupting && !view.done ? <Text color="yellow">Stopping after the requests in flight…</Text> : null}
      {view.bundle ? <Wrapped text={view.bundle} dimColor /> : null}
      {view.done ? (
        <Summary done={view.done} url={url} namespace={view.namespace ?? ""} dryRun={view.dryRun} action={action} />
      ) : null}
    </Box>
  );
}

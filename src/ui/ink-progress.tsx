import { render } from "ink";
import type { Reporter } from "../engine/events.js";
import { ProgressApp } from "./components/ProgressApp.js";
import type { RunAction } from "./components/Summary.js";
import { StoreReporter, ViewStore } from "./view-store.js";

export interface ProgressScreenOptions {
  /** Progress is drawn on stderr: stdout stays clean. */
  readonly output: NodeJS.WriteStream;
  readonly input: NodeJS.ReadStream;
  readonly url: string;
  readonly action?: RunAction;
  readonly onInterrupt: () => void;
}

export interface ProgressScreen {
  readonly reporter: Reporter;
  /** Draws the last state and leaves it on the terminal. */
  close(): Promise<void>;
}

export function mountProgressScreen(options: ProgressScreenOptions): ProgressScreen {
  const store = new ViewStore();
  const interrupt = (): void => {
    store.dispatch({ event: "interrupting" });
    options.onInterrupt();
  };
  const instance = render(
    <ProgressApp store={store} url={options.url} onInterrupt={interrupt} action={options.action ?? "install"} />,
    {
      stdout: options.output,
      stdin: options.input,
      exitOnCtrlC: false,
      patchConsole: false,
    },
  );
  return {
    reporter: new StoreReporter(store),
    async close() {
      store.flush();
      await new Promise((r) => setTimeout(r, 30));
      instance.unmount();
      await instance.waitUntilExit().catch(() => undefined);
      // Ink leaves the cursor after its last line: what follows (the shell's prompt) starts on a line of its own.
      options.output.write("\n");
    },
  };
}

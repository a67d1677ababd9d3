import type { EngineEvent, Progress, Reporter } from "../engine/events.js";
import { initialView, reduce, type ViewAction, type ViewModel } from "./view-model.js";

/** How often the screen may redraw: hundreds of events a second fold into one frame. */
export const FRAME_MS = 50;

/** Holds the view model outside React; notifies subscribers at most once a frame. */
export class ViewStore {
  private view: ViewModel = initialView;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;

  dispatch(action: ViewAction): void {
    this.view = reduce(this.view, action);
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      for (const l of [...this.listeners]) l();
    }, FRAME_MS);
  }

  /** Flushes a pending frame now (before unmounting, so the last state is drawn). */
  flush(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const l of [...this.listeners]) l();
  }

  readonly getSnapshot = (): ViewModel => this.view;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}

/** The engine's reporter for the interactive screen: events go to the store, the store to Ink. */
export class StoreReporter implements Reporter {
  constructor(private readonly store: ViewStore) {}
  event(e: EngineEvent): void {
    this.store.dispatch(e);
  }
  progress(p: Progress): void {
    this.store.dispatch({ event: "progress", ...p });
  }
}

import type { ConnectionState, WatchEventType } from "./types.js";
import { KubeApiError } from "./types.js";
import type { KubeObject } from "../facts/objects.js";

/** What a list-watch needs of the transport: a list, and a watch stream from a resourceVersion. */
export interface ListWatchSource {
  list(): Promise<{ items: KubeObject[]; resourceVersion: string }>;
  /** Opens a watch from `resourceVersion`; resolves when it is open, `ended` when the server or the network ends it. */
  watch(
    resourceVersion: string,
    onEvent: (type: string, obj: KubeObject) => void,
    signal: AbortSignal,
  ): Promise<{ ended: Promise<void> }>;
}

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  /** How long the connection may stay lost before the watch gives up. */
  readonly giveUpMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 200, maxMs: 5_000, giveUpMs: 60_000 };

/** Exponential backoff with full jitter: attempt n waits a random time in [d/2, d], d = initial·2ⁿ capped. */
export function backoffDelay(attempt: number, b: Backoff, random: () => number = Math.random): number {
  const d = Math.min(b.maxMs, b.initialMs * 2 ** attempt);
  return d / 2 + random() * (d / 2);
}

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;

/**
 * An informer: list, then watch from the list's resourceVersion, keeping what it knows. A watch
 * the server ends is resumed at once; one that fails is retried with backoff and jitter, and the
 * loss is reported at the first failure and its end when a retry succeeds. A 410 Gone (the
 * resourceVersion is too old) re-lists, reporting what was deleted meanwhile as DELETED. After
 * `giveUpMs` without a connection it reports `gaveUp` and stops.
 */
export class ListWatch {
  private readonly known = new Map<string, KubeObject>();
  private readonly abort = new AbortController();
  private resourceVersion = "";
  private lostSince: number | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: ListWatchSource,
    private readonly onEvent: (type: WatchEventType, obj: KubeObject) => void,
    private readonly onConnection: (state: ConnectionState) => void,
    private readonly backoff: Backoff = DEFAULT_BACKOFF,
  ) {}

  /** The first list and watch: their failure is the caller's (nothing to resume yet). */
  async start(): Promise<void> {
    await this.relist();
    await this.openWatch();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.abort.abort();
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.source.list();
    const seen = new Set<string>();
    for (const item of items) {
      const key = keyOf(item);
      seen.add(key);
      const type = this.known.has(key) ? "MODIFIED" : "ADDED";
      this.known.set(key, item);
      this.onEvent(type, item);
    }
    for (const [key, old] of [...this.known]) {
      if (seen.has(key)) continue;
      this.known.delete(key);
      this.onEvent("DELETED", old);
    }
    this.resourceVersion = resourceVersion;
  }

  private async openWatch(): Promise<void> {
    const { ended } = await this.source.watch(
      this.resourceVersion,
      (type, obj) => this.receive(type, obj),
      this.abort.signal,
    );
    this.connected();
    ended.then(
      () => this.resume(),
      (err: Error) => this.retry(err),
    );
  }

  private receive(type: string, obj: KubeObject): void {
    if (type === "BOOKMARK") {
      this.resourceVersion = obj.metadata.resourceVersion ?? this.resourceVersion;
      return;
    }
    if (type === "ERROR") {
      // 410 Gone: what we know is too old to resume from; the next connection lists afresh.
      this.resourceVersion = "";
      return;
    }
    this.resourceVersion = obj.metadata?.resourceVersion ?? this.resourceVersion;
    if (type === "DELETED") this.known.delete(keyOf(obj));
    else this.known.set(keyOf(obj), obj);
    this.onEvent(type as WatchEventType, obj);
  }

  /** The server ended the watch (its timeout, or a 410): carry on from where it stopped. */
  private resume(): void {
    if (this.abort.signal.aborted) return;
    void this.reconnect().catch((err: Error) => this.retry(err));
  }

  private async reconnect(): Promise<void> {
    if (!this.resourceVersion) await this.relist();
    try {
      await this.openWatch();
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 410)) throw err;
      await this.relist();
      await this.openWatch();
    }
  }

  private retry(err: Error): void {
    if (this.abort.signal.aborted) return;
    const now = Date.now();
    if (this.lostSince === undefined) {
      this.lostSince = now;
      this.onConnection({ connected: false, since: now, error: err.message, gaveUp: false });
    }
    if (now - this.lostSince >= this.backoff.giveUpMs) {
      this.onConnection({ connected: false, since: this.lostSince, error: err.message, gaveUp: true });
      this.stop();
      return;
    }
    this.timer = setTimeout(
      () => void this.reconnect().catch((e: Error) => this.retry(e)),
      backoffDelay(this.attempt++, this.backoff),
    );
  }

  private connected(): void {
    this.attempt = 0;
    if (this.lostSince === undefined) return;
    const since = this.lostSince;
    this.lostSince = undefined;
    this.onConnection({ connected: true, since, gaveUp: false });
  }
}

import { WATCHED_KINDS } from "../facts/resources.js";
import type { ConnectionState, Kube, WatchHandle } from "../kube/types.js";
import type { NamespaceSnapshot } from "./diagnose.js";
import type { KubeObject } from "../facts/objects.js";

const PROBE_EVERY_MS = 1_000;
const PROBE_TIMEOUT_MS = 2_000;
const PROBE_GIVE_UP_MS = 60_000;

/**
 * The namespace as its watches describe it: workloads, their pods, ReplicaSets, claims and
 * events, kept current by the API server's pushes rather than by polling. Listeners run on every
 * change.
 */
export class NamespaceView {
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly listeners = new Set<() => void>();
  private handles: WatchHandle[] = [];
  private scheduled = false;
  /** Watches that lost the API server, by kind; `readyz`: the probe found it not ready. */
  private readonly lost = new Map<string, ConnectionState>();
  private probe: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly kube: Kube,
    readonly namespace: string,
  ) {}

  /**
   * Starts the probe and one watch per kind. A watch that starts after `stop` (an interrupt while
   * the first lists are read) is stopped as it arrives: none may outlive the view.
   */
  async start(): Promise<void> {
    this.startProbe();
    await Promise.all(
      WATCHED_KINDS.map(async ([apiVersion, kind]) => {
        const store = new Map<string, KubeObject>();
        this.objects.set(kind, store);
        const handle = await this.kube.watch(
          apiVersion,
          kind,
          this.namespace,
          (type, obj) => {
            if (type === "DELETED") store.delete(obj.metadata.name);
            else store.set(obj.metadata.name, { ...obj, kind, apiVersion });
            this.changed();
          },
          {
            onConnection: (state) => {
              if (state.connected) this.lost.delete(kind);
              else this.lost.set(kind, state);
              this.changed();
            },
          },
        );
        if (this.stopped) handle.stop();
        else this.handles.push(handle);
      }),
    );
  }

  /**
   * A server that drains gracefully (a managed control plane's upgrade) keeps its watches open
   * and silent: only asking it says it is going. Every second, `/readyz`, answered within 2 s; a
   * no, or no answer, is a lost connection like a dropped watch, given up on after 60 s.
   */
  private startProbe(): void {
    if (!this.kube.ready) return;
    const tick = async (): Promise<void> => {
      const answer = await this.kube.ready!(PROBE_TIMEOUT_MS).catch(() => undefined);
      if (this.probe === undefined) return;
      if (answer === undefined) {
        // The cluster does not let us ask: the watches alone tell.
        this.stopProbe();
        return;
      }
      const was = this.lost.get("readyz");
      if (answer.ok && was) this.lost.delete("readyz");
      else if (!answer.ok) {
        const since = was?.since ?? Date.now();
        this.lost.set("readyz", {
          connected: false,
          since,
          error: `the API server is not ready (${answer.message})`,
          gaveUp: Date.now() - since >= PROBE_GIVE_UP_MS,
        });
      }
      if (answer.ok !== !was) this.changed();
      this.probe = setTimeout(() => void tick(), PROBE_EVERY_MS);
      this.probe.unref();
    };
    this.probe = setTimeout(() => void tick(), PROBE_EVERY_MS);
    this.probe.unref();
  }

  private stopProbe(): void {
    clearTimeout(this.probe);
    this.probe = undefined;
  }

  stop(): void {
    this.stopped = true;
    this.stopProbe();
    for (const h of this.handles) h.stop();
    this.handles = [];
    this.listeners.clear();
  }

  get(kind: string, name: string): KubeObject | undefined {
    return this.objects.get(kind)?.get(name);
  }

  all(kind: string): KubeObject[] {
    return [...(this.objects.get(kind)?.values() ?? [])];
  }

  snapshot(): NamespaceSnapshot {
    return {
      pods: this.all("Pod"),
      events: this.all("Event"),
      replicaSets: this.all("ReplicaSet"),
      pvcs: this.all("PersistentVolumeClaim"),
    };
  }

  /** Whether the view is cut off from the API server (what it shows may be stale), since when, and whether its watches gave up. */
  connection(): ConnectionState | undefined {
    const states = [...this.lost.values()];
    if (states.length === 0) return undefined;
    const since = Math.min(...states.map((s) => s.since));
    return {
      connected: false,
      since,
      gaveUp: states.some((s) => s.gaveUp),
      ...(states[0]!.error ? { error: states[0]!.error } : {}),
    };
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Bursts of watch events (a rollout sends dozens) are folded into one evaluation. */
  private changed(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      for (const l of [...this.listeners]) l();
    });
  }
}

import type { Kube, WatchHandle } from "../kube/types.js";

/**
 * Streams the logs of a workload's pods into the event stream, each pod once. Used for the
 * migration Job, whose output is what a user reads when a deploy goes wrong.
 */
export class PodLogFollower {
  private readonly followed = new Map<string, { handle: Promise<WatchHandle>; ended: Promise<void> }>();
  private lastLineAt = Date.now();

  constructor(
    private readonly kube: Kube,
    private readonly namespace: string,
    private readonly onLine: (pod: string, line: string) => void,
  ) {}

  follow(pod: string, container: string): void {
    if (this.followed.has(pod)) return;
    let markEnded!: () => void;
    const ended = new Promise<void>((resolve) => (markEnded = resolve));
    const handle = this.kube.followLogs(
      this.namespace,
      pod,
      container,
      (line) => {
        this.lastLineAt = Date.now();
        this.onLine(pod, line);
      },
      (err) => {
        if (err) this.onLine(pod, `(log unavailable: ${err.message})`);
        markEnded();
      },
    );
    this.followed.set(pod, { handle, ended });
  }

  /**
   * Waits until every followed log has ended (a finished container's log ends), or has been quiet
   * for `idleMs`, at most `maxMs`; then stops following.
   */
  async drain(maxMs: number, idleMs: number): Promise<void> {
    const deadline = Date.now() + maxMs;
    let timer: NodeJS.Timeout | undefined;
    const quiet = new Promise<void>((resolve) => {
      const check = (): void => {
        const now = Date.now();
        if (now >= deadline || now - this.lastLineAt >= idleMs) resolve();
        else timer = setTimeout(check, Math.min(deadline, this.lastLineAt + idleMs) - now);
      };
      check();
    });
    await Promise.race([Promise.all([...this.followed.values()].map((f) => f.ended)), quiet]);
    clearTimeout(timer);
    await this.stop();
  }

  async stop(): Promise<void> {
    for (const f of this.followed.values()) (await f.handle).stop();
  }
}

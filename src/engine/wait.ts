import type { ConnectionState, Kube } from "../kube/types.js";
import type { Stage } from "../render/render.js";
import { diagnose, rolloutPodsOf, type Diagnosis } from "./diagnose.js";
import type { Reporter } from "./events.js";
import { failureHint, StageFailure } from "./failure.js";
import { PodLogFollower } from "./log-follower.js";
import { jobReadinessWithPods, readinessOf, type Readiness } from "./readiness.js";
import type { NamespaceView } from "./view.js";
import { objectRef, type KubeObject, typed } from "../facts/objects.js";

/** How long a finished stage waits for the last lines of the logs it streams, and for a quiet log. */
const LOG_DRAIN_MS = 3000;
const LOG_IDLE_MS = 300;

const API_SERVER = "API server";

/** A wait that ended while cut off from the API server: a cluster access failure, not a workload's. */
function connectionFailure(lost: ConnectionState, what: string): StageFailure {
  return new StageFailure(
    "cluster-access",
    "ConnectionLost",
    `lost the connection to the API server ${Math.round((Date.now() - lost.since) / 1000)} s ago and ${what}: ${lost.error ?? "no answer"}`,
    "kubectl cluster-info; once the API server answers, re-run the same command: it resumes where this one stopped",
    API_SERVER,
  );
}

/** How long a non-fatal condition must last before it is reported as a stall. */
export const STALL_GRACE_MS = 2000;

export interface StageWaitInput {
  readonly kube: Kube;
  readonly view: NamespaceView;
  readonly reporter: Reporter;
  readonly stage: Stage;
  readonly workloads: readonly KubeObject[];
  /** The generation each workload had after this run applied it: older observations are stale. */
  readonly appliedGeneration: ReadonlyMap<string, number>;
  /** Jobs this run started (created or re-created), whose output is news worth streaming. */
  readonly freshJobs: ReadonlySet<string>;
  readonly timeoutMs: number;
  /** Events before this are an earlier run's. */
  readonly sinceMs: number;
  readonly signal?: AbortSignal | undefined;
  readonly logLines: number;
}

type ContainerRef = { pod?: string | undefined; container?: string | undefined; previousLogs?: boolean | undefined };

/** What a stage's wait leaves running once the stage is ready: the migration log's last lines. */
export interface StageWaitResult {
  /** Settles when the streamed logs have ended (bounded); the run's `done` waits for it, the next stage does not. */
  readonly logsDrained: Promise<void>;
}

/** Waits, through the namespace's watches, until every workload of a stage is ready; rejects with a StageFailure. */
export function waitForStage(input: StageWaitInput): Promise<StageWaitResult> {
  return new StageWait(input).run();
}

/**
 * One stage's wait: per workload its readiness (reported when it changes) and, while it is not
 * ready, the diagnosis of why; a fatal diagnosis fails the stage at once, a passing one is reported
 * as a stall only once it lasted STALL_GRACE_MS.
 */
class StageWait {
  private readonly lastStatus = new Map<string, string>();
  private readonly lastStall = new Map<string, string>();
  private readonly lastDiagnosis = new Map<string, Diagnosis>();
  private readonly firstSeen = new Map<string, number>();
  private readonly logs: PodLogFollower;
  private recheck: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: () => void = () => undefined;
  private settled = false;
  /** Whether the loss of the API server is on screen (a stall of the "API server" row). */
  private connectionLostShown = false;
  private resolve!: (r: StageWaitResult) => void;
  private reject!: (err: StageFailure) => void;

  constructor(private readonly input: StageWaitInput) {
    const job = input.workloads.find((w) => w.kind === "Job");
    this.logs = new PodLogFollower(input.kube, input.view.namespace, (pod, line) => {
      if (job) input.reporter.event({ event: "log", stage: input.stage.id, object: objectRef(job), pod, line });
    });
  }

  run(): Promise<StageWaitResult> {
    return new Promise<StageWaitResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.timer = setTimeout(() => this.onTimeout(), this.input.timeoutMs);
      this.input.signal?.addEventListener("abort", this.onAbort, { once: true });
      this.unsubscribe = this.input.view.onChange(() => this.evaluate());
      this.evaluate();
    });
  }

  private readonly onAbort = (): void =>
    this.finish(new StageFailure("interrupted", "Interrupted", "interrupted while waiting", ""));

  /** Ends the wait once: no more evaluations, timers or signal handling. False if already ended. */
  private stopWaiting(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.unsubscribe();
    clearTimeout(this.timer);
    clearTimeout(this.recheck);
    this.input.signal?.removeEventListener("abort", this.onAbort);
    return true;
  }

  private finish(err?: StageFailure): void {
    if (!this.stopWaiting()) return;
    if (err) {
      void this.logs.stop();
      this.reject(err);
      return;
    }
    // A finished container's log ends by itself; the run waits for it before its end, so no line
    // is lost, but readiness is already decided: the next stage starts now.
    this.resolve({ logsDrained: this.logs.drain(LOG_DRAIN_MS, LOG_IDLE_MS) });
  }

  private failWithLogs(failure: StageFailure, source: ContainerRef): void {
    if (!this.stopWaiting()) return;
    void this.logs.stop();
    void this.containerLogs(source).then((lines) => this.reject(failure.withLogs(lines)));
  }

  private async containerLogs(d: ContainerRef): Promise<string[]> {
    if (!d.pod || !d.container) return [];
    const { kube, view, logLines } = this.input;
    try {
      let text = await kube.logs(view.namespace, d.pod, d.container, {
        tailLines: logLines,
        previous: d.previousLogs ?? false,
      });
      if (!text.trim() && d.previousLogs)
        text = await kube.logs(view.namespace, d.pod, d.container, { tailLines: logLines });
      return text.split("\n").filter((l) => l.length > 0);
    } catch (err) {
      return [`(no log available: ${(err as Error).message})`];
    }
  }

  /** A passing condition (a claim binding, a pod being scheduled) is not a stall until it lasts. */
  private stallPersisted(ref: string, d: Diagnosis): boolean {
    const key = `${ref}:${d.reason}`;
    const since = this.firstSeen.get(key) ?? Date.now();
    this.firstSeen.set(key, since);
    const remaining = since + STALL_GRACE_MS - Date.now();
    if (remaining <= 0) return true;
    clearTimeout(this.recheck);
    this.recheck = setTimeout(() => this.evaluate(), remaining + 10);
    return false;
  }

  /** Streams the output of the Jobs this run started, from containers that have started. */
  private followJobPods(): void {
    const { workloads, freshJobs, view } = this.input;
    for (const w of workloads.filter((x) => x.kind === "Job" && freshJobs.has(objectRef(x)))) {
      const live = view.get(w.kind, w.metadata.name);
      if (!live) continue;
      for (const pod of rolloutPodsOf(live, view.snapshot())) {
        const statuses =
          (pod.status?.containerStatuses as
            | { name: string; state?: Record<string, unknown>; restartCount?: number }[]
            | undefined) ?? [];
        // A crash-looping container is reported with its previous log instead.
        const started = statuses.find((c) => (c.state?.["running"] || c.state?.["terminated"]) && !c.restartCount);
        if (started) this.logs.follow(pod.metadata.name, started.name);
      }
    }
  }

  private readiness(w: KubeObject): { live: KubeObject | undefined; r: Readiness } {
    const live = this.input.view.get(w.kind, w.metadata.name);
    const seen = live && (live.metadata.generation ?? 0) >= (this.input.appliedGeneration.get(objectRef(w)) ?? 0);
    if (!seen) return { live: undefined, r: { state: "pending", message: "waiting for the API server to report it" } };
    return {
      live,
      r:
        live.kind === "Job"
          ? jobReadinessWithPods(live, rolloutPodsOf(live, this.input.view.snapshot()))
          : readinessOf(live),
    };
  }

  private reportStatus(ref: string, r: Readiness): void {
    const key = `${r.state}:${r.message}`;
    if (this.lastStatus.get(ref) === key) return;
    this.lastStatus.set(ref, key);
    this.input.reporter.event({
      event: "status",
      stage: this.input.stage.id,
      object: ref,
      state: r.state,
      message: r.message,
    });
  }

  private evaluate(): void {
    if (this.settled || this.connectionLost()) return;
    this.followJobPods();
    let done = 0;
    const waitingOn: string[] = [];
    for (const w of this.input.workloads) {
      const ref = objectRef(w);
      const { live, r } = this.readiness(w);
      this.reportStatus(ref, r);
      if (r.state === "ready") {
        done++;
        continue;
      }
      if (r.state === "failed") {
        this.failed(ref, live!, r);
        return;
      }
      waitingOn.push(ref);
      if (live && !this.explainStall(ref, live)) return;
    }
    this.input.reporter.progress({ stage: this.input.stage.id, waitingOn, done, total: this.input.workloads.length });
    if (done === this.input.workloads.length) this.finish();
  }

  /**
   * Says at once when the watches lost the API server, and when it is back; while it is lost the
   * view is stale, so nothing is judged. A connection given up on fails the run as a cluster
   * access problem, not as a workload's timeout.
   */
  private connectionLost(): boolean {
    const c = this.input.view.connection();
    const { reporter, stage } = this.input;
    if (!c) {
      if (this.connectionLostShown)
        reporter.event({
          event: "status",
          stage: stage.id,
          object: API_SERVER,
          state: "ready",
          message: "the connection to the API server is back",
        });
      this.connectionLostShown = false;
      return false;
    }
    if (c.gaveUp) {
      this.finish(connectionFailure(c, "the connection could not be re-established"));
      return true;
    }
    if (!this.connectionLostShown) {
      reporter.event({
        event: "stall",
        stage: stage.id,
        object: API_SERVER,
        reason: "ConnectionLost",
        message: `lost the connection to the API server; retrying (${c.error ?? "no answer"})`,
        hint: "the API server is restarting or unreachable: kubectl cluster-info",
        fatal: false,
      });
      this.connectionLostShown = true;
    }
    return true;
  }

  /** A workload that reached a failed state: the pods say more than its condition, so prefer their diagnosis. */
  private failed(ref: string, live: KubeObject, r: Extract<Readiness, { state: "failed" }>): void {
    const snap = this.input.view.snapshot();
    const d = diagnose(live, snap, this.input.sinceMs);
    const pod = rolloutPodsOf(live, snap).sort((a, b) =>
      String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)),
    )[0];
    const restarted = ((pod ? typed(pod, "Pod").status?.containerStatuses?.[0]?.restartCount : undefined) ?? 0) > 0;
    const source = d?.pod
      ? d
      : {
          pod: pod?.metadata.name,
          container: pod ? typed(pod, "Pod").spec?.containers[0]?.name : undefined,
          previousLogs: restarted,
        };
    this.failWithLogs(
      new StageFailure(
        "wait-failed",
        r.reason,
        `${ref}: ${r.message}${d ? ` (${d.reason}: ${d.message})` : ""}`,
        failureHint(this.input.stage.id, r.reason),
        ref,
      ),
      source,
    );
  }

  /** Reports why a workload is not ready; false when that ended the wait (a fatal state). */
  private explainStall(ref: string, live: KubeObject): boolean {
    const d = diagnose(live, this.input.view.snapshot(), this.input.sinceMs);
    if (!d || (!d.fatal && !this.stallPersisted(ref, d))) return true;
    this.lastDiagnosis.set(ref, d);
    const key = `${d.reason}:${d.message}`;
    if (this.lastStall.get(ref) !== key) {
      this.lastStall.set(ref, key);
      this.input.reporter.event({
        event: "stall",
        stage: this.input.stage.id,
        object: ref,
        reason: d.reason,
        message: d.message,
        hint: d.hint,
        fatal: d.fatal,
      });
    }
    if (!d.fatal) return true;
    this.failWithLogs(new StageFailure("wait-failed", d.reason, `${ref}: ${d.message}`, d.hint, ref), d);
    return false;
  }

  private onTimeout(): void {
    const { workloads, timeoutMs } = this.input;
    // Cut off from the API server, the view says nothing about the workloads: that is the failure.
    const lost = this.input.view.connection();
    if (lost) {
      this.finish(connectionFailure(lost, "the stage timed out"));
      return;
    }
    const pending = workloads.map(objectRef).filter((ref) => !this.lastStatus.get(ref)?.startsWith("ready"));
    const d = pending.map((ref) => this.lastDiagnosis.get(ref)).find((x) => x);
    const status = pending
      .map((ref) => `${ref}: ${this.lastStatus.get(ref)?.split(":").slice(1).join(":") ?? "not seen"}`)
      .join("; ");
    this.finish(
      new StageFailure(
        "timeout",
        d?.reason ?? "Timeout",
        `not ready after ${Math.round(timeoutMs / 1000)} s: ${status}${d ? `; ${d.message}` : ""}`,
        d?.hint ??
          "it is still progressing: re-run with a longer --timeout, or look at kubectl describe for what it waits on",
        pending[0],
      ),
    );
  }
}

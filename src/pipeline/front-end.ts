import type { ResolveResult } from "../config/resolve.js";
import type { DoneEvent, EngineEvent, Reporter, RunOutcome } from "../engine/events.js";
import type { Installed } from "../config/installed.js";
import type { Kube } from "../kube/types.js";
import type { InstallState } from "../record/store.js";
import type { VerifyFrontEnd } from "./verify.js";
import type { ClusterFacts } from "./cluster-facts.js";

export type PlanEvent = Extract<EngineEvent, { event: "plan" }>;
export type CheckEvent = Extract<EngineEvent, { event: "check" }>;

export interface AnswerContext {
  readonly kube: Kube;
  readonly state: InstallState;
  /** The existing install's answers and secrets (empty on a first install). */
  readonly installed: Installed;
  /** Whether an earlier run recorded its answers here: this run is an upgrade, or resumes a first install. */
  readonly upgrade: boolean;
  /** Answers recorded but no run completed: this run resumes a first install that stopped half-way. */
  readonly resuming: boolean;
  /** What the cluster offers (ingress classes, issuers, TLS Secrets); read only by the wizard. */
  readonly facts: () => Promise<ClusterFacts>;
}

/**
 * How a run asks and how it reports; everything else is the pipeline's. The wizard asks
 * questions and shows an Ink screen; a script run takes its answers from flags, environment and
 * values file and writes plain lines or JSON Lines.
 */
export interface FrontEnd extends VerifyFrontEnd {
  /** The kube context when none was named: the wizard asks if there are several. */
  chooseContext(contexts: readonly string[]): Promise<string | undefined>;
  /** Every answer, from the user's sources, the install record and (wizard) questions. */
  resolveAnswers(context: AnswerContext): Promise<ResolveResult>;
  showPlan(plan: PlanEvent): void;
  /** One preflight result, before the confirm. */
  showCheck(check: CheckEvent): void;
  /** The go-ahead after the plan; a script run has it already, and a plan that changes nothing needs none. */
  confirm(upgrade: boolean, nothingToChange: boolean): Promise<boolean>;
  /** Where the events of the run go from here on (a dry run reports only its end). */
  startReporting(options: ReportingOptions): Reporter;
  /** Leaves the last state on the terminal; safe to call when reporting never started. */
  stopReporting(): Promise<void>;
  /** Why the run stops before applying (refusals, the lock, cluster access): a line, and for JSON a `done` event. */
  say(line: string, outcome?: RunOutcome): void;
  /**
   * Whether a successful apply's `done` waits for the verification (scripts: `done` is the run's
   * last event and agrees with its exit code); a screen that shows the apply's end does not hold it.
   */
  readonly holdsVerdict: boolean;
  /** The whole run's verdict after verification: a script's last event; a screen shows it when it differs from what it showed. */
  finish(done: DoneEvent): void;
}

export interface ReportingOptions {
  /** The URL the end summary offers. */
  readonly url: string;
  readonly onInterrupt: () => void;
  readonly dryRun: boolean;
}

/** The user cancelled a question (Ctrl-C): nothing is applied. */
export class Cancelled extends Error {
  /** What `isCancelled` checks: the published terminal screens have their own copy of this class, which `instanceof` would not match. */
  readonly cancelled = true;
}

/** Whether the person cancelled (a Cancelled from any copy of this module). */
export function isCancelled(err: unknown): boolean {
  return err instanceof Error && (err as Partial<Cancelled>).cancelled === true;
}

import type { FieldKey } from "../config/fields.js";
import type { ChosenValues, ResolveResult } from "../config/resolve.js";
import { formatProblem, type ConfigProblem, type InstallConfig } from "../config/types.js";
import { doneOf } from "../engine/events.js";
import { describeImpact, type Impact, immutableProblems, isMutableReference } from "../engine/impact.js";
import { computePlan, type InstallPlan } from "../engine/plan.js";
import type { Kube } from "../kube/types.js";
import { gitopsController } from "../facts/gitops.js";
import { lastSuccessfulRun, summarizeRecord } from "../record/install-record.js";
import type { InstallState } from "../record/store.js";
import type { FrontEnd, PlanEvent } from "./front-end.js";
import { Stop } from "./locked.js";
import { preflightChecksFor, type PreflightContext } from "../checks/preflight/index.js";
import { runChecks, type CheckOutcome } from "../checks/types.js";
import { SECRET_NAME } from "../facts/names.js";
import { objectRef } from "../facts/objects.js";
import { ExitCode, type ExitCodeValue } from "../base/exit-codes.js";
import { type Move, type Snapshot, type SnapshotOptions, snapshotOf } from "./install-steps.js";
import { invoked } from "../base/invocation.js";
import { moveNotice } from "./move-steps.js";
import { type RedisSwitch, redisSwitchNotice } from "./redis-switch.js";

// An install's plan: its preflight, its dry runs and what they would change, shown with the
// notices a person needs before saying yes; and the refusals that stop a run with nothing applied.

/** Everything a program can know before the first write: any failure stops the run with nothing applied. */
export async function preflight(
  options: { readonly skipPreflight: boolean; readonly stopAfter?: "preflight" | undefined },
  context: PreflightContext,
  fe: FrontEnd,
): Promise<CheckOutcome[]> {
  const checks = preflightChecksFor(context.config);
  if (options.skipPreflight) {
    fe.say(`preflight skipped (--skip-preflight): not checked: ${checks.map((c) => c.title.toLowerCase()).join(", ")}`);
    return [];
  }
  const outcomes = await runChecks(checks, context);
  for (const o of outcomes) fe.showCheck({ event: "check", phase: "preflight", ...o });
  const failed = outcomes.filter((o) => o.status === "fail");
  if (failed.length > 0) {
    const what = `mathison-install: preflight failed (${failed.map((o) => o.title).join(", ")})`;
    throw new Stop(
      ExitCode.preflight,
      options.stopAfter === "preflight"
        ? `${what}: fix what is marked ✖ above`
        : `${what}: nothing was applied; fix what is marked ✖ above, or --skip-preflight to try anyway`,
      "preflight-failed",
    );
  }
  return outcomes;
}

/** What planning an install works from: the cluster, the answers, what they render to. */
export interface PlanInput {
  readonly options: SnapshotOptions & {
    readonly skipPreflight: boolean;
    readonly stopAfter?: "preflight" | undefined;
    readonly dryRun: boolean;
    readonly pull: boolean;
  };
  readonly kube: Kube;
  readonly reads: Kube;
  readonly state: InstallState;
  readonly resolved: Extract<ResolveResult, { ok: true }>;
  readonly preflight: PreflightContext;
  readonly upgrade: boolean;
  /** The data's move this run makes: its dump stands for the backup before the migration. */
  readonly move?: Move | undefined;
  /** `--delete-parked-postgres`: the parked PostgreSQL and its volume go. */
  readonly deletesParked?: boolean;
  readonly redisSwitch?: RedisSwitch | undefined;
}

/** A plan shown and not refused: what the apply works from. */
export interface Planned {
  readonly plan: InstallPlan;
  readonly checks: CheckOutcome[];
  readonly snapshot: Snapshot | undefined;
}

/**
 * The plan (its dry runs) beside the preflight, then shown with its notices. Anything that
 * refuses it (the preflight, an immutable field, the API server) stops the run, nothing applied.
 */
export async function planRun(input: PlanInput, fe: FrontEnd): Promise<Planned> {
  const { options, kube, state, resolved } = input;
  // The dry runs write nothing, so they run beside the preflight; its verdict comes first (a user
  // without the permissions gets the preflight's list, not the dry runs' refusals).
  const planning = computePlan(input.preflight.rendered, input.reads, {
    namespaceExists: state.namespaceExists,
    replicasGiven: givenThisRun(resolved.chosen, "webReplicas"),
    previousInventory: state.record.inventory,
  }).then(
    (plan) => ({ plan }),
    (error: unknown) => ({ error }),
  );
  const checks = await preflight(options, input.preflight, fe);
  const planned = await planning;
  if ("error" in planned) throw planned.error;
  const plan = planned.plan;
  const refused = immutableProblems(plan.changes, resolved.chosen);
  if (refused.length > 0) throw usage(refused);
  const snapshot = input.move ? undefined : snapshotOf(plan, state, kube, options);
  const notices = [
    ...resolved.notices,
    ...keptDataNotices(state, resolved.config),
    ...(input.move ? [moveNotice(input.move, state, resolved.config)] : []),
    ...(input.redisSwitch ? [redisSwitchNotice(input.redisSwitch, state)] : []),
    ...(input.deletesParked
      ? [
          "--delete-parked-postgres: the cluster's parked PostgreSQL is deleted with its volume, the copy of the data from before the move: gone for good (the data is in your own PostgreSQL)",
        ]
      : []),
    ...(input.upgrade && !options.pull ? mutableTagNotices(plan, resolved.config) : []),
    ...(state.pendingPassword
      ? [
          "POSTGRES_PASSWORD: an earlier rotation did not finish (the Secret holds POSTGRES_PASSWORD_NEXT): this run finishes it",
        ]
      : []),
  ];
  const stopped: Stopped | undefined = input.move ? "move" : input.redisSwitch ? "redis" : undefined;
  fe.showPlan(planEvent(plan, kube, state, notices, options.dryRun, snapshot, stopped));
  const serverRefusals = plan.changes.filter((c) => c.refused);
  if (serverRefusals.length > 0)
    throw new Stop(
      ExitCode.apply,
      `mathison-install: the API server would refuse ${serverRefusals.map((c) => c.object).join(", ")} (see the plan above); nothing was applied`,
      "apply-failed",
    );
  return { plan, checks, snapshot };
}

/** `preflight`: the install's checks alone, nothing written; its verdict is the run's. */
export async function preflightOnly(
  options: PlanInput["options"],
  context: PreflightContext,
  fe: FrontEnd,
  startedAt: number,
): Promise<ExitCodeValue> {
  const outcomes = await preflight(options, context, fe);
  const warned = outcomes.filter((o) => o.status === "warn").length;
  const own = context.config.externalPostgres || context.config.externalRedis;
  // Your own databases are asked from a client pod: the one write, undone before this line.
  const written = own ? "nothing of the install was written (the client pod is deleted)" : "nothing was written";
  fe.finish(
    doneOf(
      "ok",
      `preflight: ${outcomes.length - warned} of ${outcomes.length} checks passed${warned > 0 ? `, ${warned} with a warning` : ""}; ${written}`,
      startedAt,
    ),
  );
  return ExitCode.ok;
}

/** A value given by the user in this run (flag, environment, values file, wizard), not kept from the record or defaulted. */
function givenThisRun(chosen: ChosenValues, key: FieldKey): boolean {
  const v = chosen[key];
  return v?.field !== undefined && !v.fromInstall;
}

/** A re-install onto data an uninstall kept: which release last migrated it, and whether this run keeps or migrates it. */
function keptDataNotices(state: InstallState, config: InstallConfig): string[] {
  if (state.record.answers || !state.keptData) return [];
  const then = state.keptData.image;
  const secret = `Secret ${state.namespace}/${SECRET_NAME}`;
  return [
    config.webImage === then
      ? `the kept database (${secret}) was last migrated by ${then}: this install defaults to that release`
      : `the kept database (${secret}) was last migrated by ${then}: this install runs ${config.webImage} and migrates the data to it`,
  ];
}

/**
 * An image given by tag can point at a new build while the reference stays the same; without
 * --pull the pods keep running what they pulled, and the plan says so.
 */
function mutableTagNotices(plan: InstallPlan, config: InstallConfig): string[] {
  const web = plan.changes.find((c) => c.desired.kind === "Deployment" && c.desired.metadata.name === "mathison-web");
  if (web?.action !== "unchanged") return [];
  const tags = [config.webImage, config.workerImage].filter(isMutableReference);
  if (tags.length === 0) return [];
  return [
    `${tags.join(" and ")} ${tags.length === 1 ? "is a tag" : "are tags"}: pods keep the image they pulled; give --pull to pull the tag again and roll out what it points at now`,
  ];
}

/** An install a GitOps controller applies changes through its repository: applying here would fight the controller. */
export function gitopsRefusal(state: InstallState): Stop {
  const g = state.gitops!;
  const c = gitopsController(g);
  return new Stop(
    ExitCode.usage,
    `mathison-install: namespace ${state.namespace} is applied by the ${c.name} (${g.seenBy}): an install here would fight the controller; nothing was applied\n  try: change values.yaml in the exported directory, run ${invoked()} export --gitops DIR --values DIR/values.yaml, and commit; or, to manage it with the installer again, remove the ${c.name}, keeping its objects (${c.release}), and run install --leave-gitops`,
    "refused",
  );
}

export function usage(problems: readonly ConfigProblem[]): Stop {
  return new Stop(
    ExitCode.usage,
    `${problems.map((p) => `mathison-install: ${formatProblem(p)}`).join("\n")}\nnothing was applied; ${invoked()} install --help lists every setting`,
    "refused",
  );
}

function planEvent(
  plan: InstallPlan,
  kube: Kube,
  state: InstallState,
  notices: readonly string[],
  dryRun: boolean,
  snapshot?: Snapshot,
  stopped?: Stopped,
): PlanEvent {
  // An install no run completed is not installed: its plan is a first install's, resumed.
  const installed = lastSuccessfulRun(state.record) ? summarizeRecord(state.record) : undefined;
  return {
    event: "plan",
    context: kube.contextName,
    server: kube.server,
    namespace: plan.namespace,
    dryRun,
    stages: plan.rendered.stages.map((s) => ({ id: s.id, title: s.title, objects: s.objects.map(objectRef) })),
    changes: plan.changes.map((c) => ({
      stage: c.stage,
      object: c.object,
      action: c.action,
      fields: c.fields,
      conflicts: c.conflicts,
      ...(c.note ? { note: c.note } : {}),
    })),
    // The backup is the run's first step, before anything changes.
    impact: [
      ...(snapshot ? [{ kind: "backup", message: snapshot.notice }] : []),
      ...describeImpact(plan.changes).map((i) => (stopped ? whileStopped(i, stopped) : i)),
    ],
    notices,
    ...(installed ? { installed } : {}),
  };
}

/** What stops before the stages: web and worker for a move of the data, web while Redis's queue drains. */
type Stopped = "move" | "redis";

/** Web and worker stopped before the stages start again with them: no rolling out without downtime. */
function whileStopped(impact: Impact, stopped: Stopped): Impact {
  if (impact.kind !== "rollout" || !impact.object?.startsWith("Deployment/")) return impact;
  if (stopped === "move")
    return {
      ...impact,
      message: `${impact.object} is stopped for the move and starts again on the database the data moved to`,
    };
  if (impact.object !== "Deployment/mathison-web") return impact;
  return {
    ...impact,
    message: `${impact.object} is stopped while Redis's queue drains, then starts on the other Redis`,
  };
}

const DRY_RUN_ACTION = {
  create: "create",
  change: "change",
  unchanged: "none",
  replace: "replace",
  delete: "delete",
} as const;

export function reportDryRun(plan: InstallPlan, fe: FrontEnd): ExitCodeValue {
  const reporter = fe.startReporting({ url: "", onInterrupt: () => undefined, dryRun: true });
  for (const c of plan.changes) {
    reporter.event({
      event: "apply",
      stage: c.stage,
      object: c.object,
      action: DRY_RUN_ACTION[c.action],
      ...(c.fields.length > 0 ? { fields: c.fields } : {}),
    });
  }
  const total = plan.rendered.stages.reduce((n, s) => n + s.objects.length, 0);
  reporter.event({
    event: "done",
    ok: true,
    outcome: "ok",
    elapsedMs: 0,
    applied: 0,
    total,
    message: "dry run: nothing was changed",
  });
  return ExitCode.ok;
}

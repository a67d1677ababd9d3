import { dirname, join } from "node:path";
import type { NetworkOptions } from "../checks/verify/index.js";
import { loadConfig } from "../config/load.js";
import { type BackupManifest, BackupError, checkBackup, putRedisSnapshot } from "../engine/backup.js";
import { REDIS_POD, REDIS_RESTORE_POD } from "../facts/names.js";
import { redisRestorePod } from "../render/restore-pod.js";
import { databaseNames, databaseOf, SqlError } from "../engine/database.js";
import {
  checkRestored,
  clearLeftovers,
  discardRestoring,
  replacedName,
  RestoreError,
  restoreIntoNew,
  restoringName,
  swapIn,
} from "../engine/restore-database.js";
import { type DoneEvent, doneOf, type Reporter, type RunOutcome } from "../engine/events.js";
import {
  deploymentReadiness,
  jobReadinessWithPods,
  podReadiness,
  statefulSetReadiness,
  type Readiness,
} from "../engine/readiness.js";
import { type KubeObject, type ObjectRef, typed } from "../facts/objects.js";
import type { ConnectOptions } from "../kube/client.js";
import type { Kube } from "../kube/types.js";
import { waitUntil, WaitError } from "../engine/wait-until.js";
import type { NamespaceView } from "../engine/view.js";
import { lastSuccessfulRun, nextRecord, noInstallMessage, type InstallRecord } from "../record/install-record.js";
import { gitopsWarning } from "../facts/gitops.js";
import { writeRecord, type InstallState } from "../record/store.js";
import { renderPlan } from "../render/render.js";
import { sizeOf } from "../base/sizes.js";
import { ExitCode, type ExitCodeValue } from "../base/exit-codes.js";
import type { ReportingOptions } from "./front-end.js";
import { installedOf, openCluster, runEntryOf } from "./session.js";
import { exitOf, runLocked, Stop, type CommandWords } from "./locked.js";
import { checkInstall, verifiedEvent, wholeRunVerdict, type VerifyFrontEnd } from "./verify.js";
import { invoked } from "../base/invocation.js";

/** The workloads that use the database: stopped while it is replaced. */
const APPS = ["mathison-web", "mathison-worker"] as const;
const RESTORE_WORDS: CommandWords = { nothingDone: "nothing was restored" };

export interface RestoreOptions {
  readonly cluster: ConnectOptions;
  /** Another way to reach a cluster than the kubeconfig (unit tests pass an in-memory one). */
  readonly open?: () => Kube;
  readonly namespace: string;
  readonly file: string;
  readonly lockTimeoutMs: number;
  /** How long each step (scaling down, the migration, scaling up) may take. */
  readonly timeoutMs: number;
  readonly network: NetworkOptions;
}

/** How a restore asks and reports: what will be replaced, the typed namespace, then steps and the checklist. */
export interface RestoreFrontEnd extends VerifyFrontEnd {
  /** Which kubeconfig context, when it holds several and --context was not given. */
  chooseContext(names: readonly string[]): Promise<string | undefined>;
  showRestorePlan(lines: readonly string[]): void;
  confirm(namespace: string): Promise<boolean>;
  startReporting(options: ReportingOptions): Reporter;
  stopReporting(): Promise<void>;
  say(line: string, outcome?: RunOutcome): void;
  /** The run's verdict, its last line (and for scripts its `done` event). */
  finish(done: DoneEvent): void;
}

/** A restore as the record's history and `status`'s last runs show it. */
export const RESTORED_OUTCOME = "restored";

/**
 * `mathison-install restore FILE`: checks the dump against its manifest, says what it replaces,
 * confirms, then under the install's lock stops web and worker, restores the database, runs the
 * migration of the current web image (so the schema matches what runs), starts them again and
 * verifies. A restore stopped half-way is recorded: the next `restore` or `install` starts web
 * and worker again.
 */
export async function runRestore(options: RestoreOptions, fe: RestoreFrontEnd): Promise<ExitCodeValue> {
  let manifest: BackupManifest;
  try {
    manifest = await checkBackup(options.file);
  } catch (err) {
    if (!(err instanceof BackupError)) throw err;
    fe.say(`mathison-install: restore ${options.file}: ${err.message}; nothing was restored`, "refused");
    return ExitCode.usage;
  }
  try {
    const { kube, state } = await openCluster(options, fe);
    if (!state.namespaceExists || !lastSuccessfulRun(state.record)) {
      fe.say(
        `mathison-install: ${noInstallMessage(options.namespace, kube.contextName)}; nothing was restored`,
        "refused",
      );
      return ExitCode.notInstalled;
    }
    fe.showRestorePlan(await restorePlanLines(kube, state, manifest, options.file));
    if (!(await fe.confirm(state.namespace))) {
      fe.say(`Cancelled: ${RESTORE_WORDS.nothingDone}.`, "cancelled");
      return ExitCode.cancelled;
    }
    return await runLocked(
      kube,
      state,
      { ...RESTORE_WORDS, lockTimeoutMs: options.lockTimeoutMs },
      fe,
      async ({ signal, onSignal }) => {
        const startedAt = Date.now();
        const reporter = fe.startReporting({ url: "", onInterrupt: onSignal, dryRun: false });
        const restored = await restoreSteps({ kube, state, manifest, options, reporter, signal });
        await fe.stopReporting();
        const last = lastSuccessfulRun(state.record)!;
        const verified = await checkInstall(
          kube,
          {
            state,
            answers: (state.record.answers ?? {}) as Record<string, string>,
            webImage: last.webImage,
            workerImage: last.workerImage,
            network: options.network,
          },
          fe,
        );
        const record = nextRecord(restored, runEntryOf(kube, last, RESTORED_OUTCOME));
        const notRecorded = await writeRecord(kube, state.namespace, {
          ...record,
          verification: verified.verification,
        }).then(
          () => "",
          (err: Error) => `; the result was not recorded: ${err.message}`,
        );
        fe.verified(verifiedEvent(verified, notRecorded));
        const done = wholeRunVerdict(
          doneOf(
            "ok",
            `restored ${state.namespace} from ${options.file} (taken ${manifest.createdAt})${notRecorded}`,
            startedAt,
          ),
          verified,
          state.namespace,
        );
        fe.finish(done);
        return done.ok ? ExitCode.ok : ExitCode.verifyFailed;
      },
    );
  } catch (err) {
    await fe.stopReporting();
    return exitOf(err, fe, RESTORE_WORDS);
  }
}

/** What the restore replaces, with what, and what it does on the way. */
async function restorePlanLines(kube: Kube, state: InstallState, m: BackupManifest, file: string): Promise<string[]> {
  const { db } = await databaseNames(kube, state.namespace);
  const last = lastSuccessfulRun(state.record);
  const elsewhere = m.namespace !== state.namespace || m.context !== kube.contextName;
  return [
    `Restore into context ${kube.contextName}, namespace ${state.namespace}: database ${db} is replaced by`,
    `  ${file}: a dump of database ${m.database.name} taken ${m.createdAt} (${sizeOf(m.bytes)}, sha256 checked)`,
    ...(m.redis
      ? [
          `  and Redis's data (queued jobs) by ${m.redis.file} (${sizeOf(m.redis.bytes)}, sha256 checked): Redis stops while it is put back`,
        ]
      : []),
    ...(elsewhere ? [`  ! it was taken from context ${m.context}, namespace ${m.namespace}`] : []),
    `  images then: ${m.images.web ?? "?"}, ${m.images.worker ?? "?"}; now: ${last?.webImage}, ${last?.workerImage}`,
    ...(state.gitops ? [`  ! ${gitopsWarning(state.gitops, "restore")}`] : []),
    `Steps: stop web and worker, restore the dump into a new database ${restoringName(db)} (room for a second copy of the data is needed meanwhile), check it, swap it in (${db} becomes ${replacedName(db)}, then is dropped)${m.redis ? ", put Redis's snapshot back" : ""}, run the migration of the current web image, start web and worker, verify.`,
    `Everything written to the database${m.redis ? " and Redis" : ""} since the dump is lost; so are objects the dump does not hold.`,
  ];
}

interface RestoreRun {
  readonly kube: Kube;
  readonly state: InstallState;
  readonly manifest: BackupManifest;
  readonly options: RestoreOptions;
  readonly reporter: Reporter;
  readonly signal: AbortSignal;
}

/** The steps under the lock; returns the record as they left it (the restore no longer pending). */
async function restoreSteps(run: RestoreRun): Promise<InstallRecord> {
  const { kube, state } = run;
  // A restore stopped before scaling back recorded the counts it found: they are the ones to go back to.
  const replicas = state.record.restoring?.replicas ?? (await currentReplicas(kube, state.namespace));
  const pending: InstallRecord = {
    ...state.record,
    restoring: { file: run.options.file, since: new Date().toISOString(), replicas },
  };
  await writeRecord(kube, state.namespace, pending);
  try {
    await stepsInOrder(run, replicas);
  } catch (err) {
    // Bounded like the rest of a stop: the history says the restore stopped, `restoring` how to finish it.
    if (err instanceof Stop) {
      const entry = runEntryOf(kube, lastSuccessfulRun(state.record)!, `restore ${err.outcome ?? "failed"}`);
      await withinSeconds(1.5, writeRecord(kube, state.namespace, nextRecord(pending, entry)));
    }
    throw err;
  }
  const { restoring: _done, ...rest } = pending;
  return rest;
}

async function stepsInOrder(run: RestoreRun, replicas: Readonly<Record<string, number>>): Promise<void> {
  const { kube, state } = run;
  await step(run, "stop", "scaling web and worker to 0", async () => {
    for (const name of APPS) await kube.scale(deployment(state.namespace, name), 0);
    await until(run, "web and worker pods are gone", (view) => {
      const left = view.all("Pod").filter((p) => APPS.some((a) => p.metadata.labels?.["app.kubernetes.io/name"] === a));
      return left.length === 0
        ? { state: "ready", message: "stopped" }
        : { state: "pending", message: `${left.length} pods left` };
    });
    return "web and worker stopped";
  });
  await step(run, "restore", `restoring ${sizeOf(run.manifest.bytes)} into a new database, then swapping it in`, () =>
    databaseRestored(run),
  );
  if (run.manifest.redis)
    await step(run, "redis", `restoring Redis's data (${sizeOf(run.manifest.redis.bytes)}) with Redis stopped`, () =>
      redisRestore(run),
    );
  await step(run, "migrate", "running the migration of the current web image", () => migrate(run));
  await step(run, "start", "scaling web and worker back", async () => {
    for (const name of APPS) await kube.scale(deployment(state.namespace, name), replicas[name] ?? 1);
    for (const name of APPS) {
      await until(run, `${name} is available`, (view) => {
        const live = view.get("Deployment", name);
        return live
          ? deploymentReadiness(live)
          : { state: "failed", reason: "Missing", message: `${name} does not exist` };
      });
    }
    return `web and worker running again (${APPS.map((a) => `${a} ${replicas[a] ?? 1}`).join(", ")})`;
  });
}

async function currentReplicas(kube: Kube, namespace: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const name of APPS)
    counts[name] =
      typed((await kube.get(deployment(namespace, name))) ?? emptyDeployment(name), "Deployment").spec?.replicas ?? 1;
  return counts;
}

function emptyDeployment(name: string): KubeObject {
  return { apiVersion: "apps/v1", kind: "Deployment", metadata: { name } };
}

function deployment(namespace: string, name: string): ObjectRef {
  return { apiVersion: "apps/v1", kind: "Deployment", name, namespace };
}

/** Runs one step between a `running` and a `done` (or `failed`) event; any failure stops the restore saying how to go on. */
async function step(run: RestoreRun, id: string, doing: string, work: () => Promise<string>): Promise<void> {
  run.reporter.event({ event: "step", step: id, status: "running", message: doing });
  try {
    run.reporter.event({ event: "step", step: id, status: "done", message: await work() });
  } catch (err) {
    const stop =
      err instanceof Stop
        ? err
        : run.signal.aborted
          ? stopped(run, "interrupted", ExitCode.interrupted, "interrupted")
          : stopped(run, (err as Error).message, ExitCode.apply, "apply-failed");
    run.reporter.event({
      event: "step",
      step: id,
      status: "failed",
      message: stop.message.split("\n")[0]!.replace(/^mathison-install: /, ""),
    });
    throw stop;
  }
}

/**
 * Waits through the namespace's watches (engine/wait-until.ts) until ready; a failed state, the
 * timeout, an interrupt or a lost API server stops the restore, saying how to go on.
 */
async function until(run: RestoreRun, what: string, check: (view: NamespaceView) => Readiness): Promise<void> {
  try {
    await waitUntil(run.kube, run.state.namespace, what, check, {
      timeoutMs: run.options.timeoutMs,
      signal: run.signal,
    });
  } catch (err) {
    if (!(err instanceof WaitError)) throw err;
    const [code, outcome] = WAIT_ENDS[err.why];
    throw stopped(run, err.message, code, outcome);
  }
}

const WAIT_ENDS: Readonly<Record<WaitError["why"], readonly [ExitCodeValue, RunOutcome]>> = {
  failed: [ExitCode.wait, "wait-failed"],
  timeout: [ExitCode.wait, "timeout"],
  interrupted: [ExitCode.interrupted, "interrupted"],
  connection: [ExitCode.clusterAccess, "cluster-access"],
};

/** A restore that stopped half-way: what to run to finish it or to go back. */
function stopped(run: RestoreRun, why: string, code: ExitCodeValue, outcome: RunOutcome): Stop {
  const ns = run.state.namespace;
  return new Stop(
    code,
    `mathison-install: the restore stopped: ${why}\n  web and worker may be stopped: run ${invoked()} restore ${run.options.file} --namespace ${ns} again, or ${invoked()} install --namespace ${ns} to start them as they were`,
    outcome,
  );
}

/**
 * The dump into a new database beside the application's, checked against its manifest, then
 * swapped in by renaming (the commit point, see engine/restore-database.ts). Whatever an earlier
 * restore left (its sessions, its databases) goes first. Every wait on the database is bounded
 * by --timeout; a client in the way is named and nothing is swapped.
 */
async function databaseRestored(run: RestoreRun): Promise<string> {
  const { kube, state, manifest, options } = run;
  const d = await databaseOf(kube, state.namespace);
  const deadline = Date.now() + options.timeoutMs;
  try {
    const found = await clearLeftovers(d, options.timeoutMs);
    if (found.length > 0)
      run.reporter.event({ event: "step", step: "restore", status: "running", message: found.join("; ") });
    await restoreIntoNew({
      database: d,
      file: options.file,
      bytes: manifest.bytes,
      timeoutMs: options.timeoutMs,
      signal: run.signal,
    });
    await checkRestored(d, manifest.schema, options.timeoutMs);
    await swapIn(d, deadline, run.signal);
    return [`database ${d.db} replaced by the dump of ${manifest.createdAt}`, ...found].join("; ");
  } catch (err) {
    if (run.signal.aborted) {
      await withinSeconds(1.5, discardRestoring(d, 1500));
      throw stopped(
        run,
        `interrupted (database ${d.db} is as it was unless the swap had happened)`,
        ExitCode.interrupted,
        "interrupted",
      );
    }
    const committed = err instanceof RestoreError && err.committed;
    if (!committed) await withinSeconds(10, discardRestoring(d, 10_000));
    const why = `${(err as Error).message}${committed ? "" : `; database ${d.db} is as it was`}`;
    if (err instanceof RestoreError && err.blocked) throw stopped(run, why, ExitCode.wait, "timeout");
    if (err instanceof RestoreError || err instanceof SqlError) throw stopped(run, why, ExitCode.wait, "wait-failed");
    throw err;
  }
}

/**
 * Cleaning up after a restore that stopped, bounded (an interrupted run must end within 2 s): its
 * pg_restore goes on in the pod without us, and the cluster may not answer (the next run cleans up then).
 */
async function withinSeconds(seconds: number, work: Promise<unknown>): Promise<void> {
  await Promise.race([
    work.catch(() => undefined),
    new Promise((resolve) => setTimeout(resolve, seconds * 1000).unref()),
  ]);
}

/**
 * Redis loads its data only when it starts, so the snapshot goes in while it is stopped: Redis
 * scaled to 0, a pod of its image mounting its volume takes the RDB as the base of a fresh
 * append-only file (Redis runs with --appendonly yes: it would ignore a plain dump.rdb), then
 * Redis starts again and loads it. `head -c` ends stdin at the snapshot's size.
 */
async function redisRestore(run: RestoreRun): Promise<string> {
  const { kube, state } = run;
  const ns = state.namespace;
  const sts: ObjectRef = { apiVersion: "apps/v1", kind: "StatefulSet", name: "redis", namespace: ns };
  const live = await kube.get(sts);
  if (!live) throw stopped(run, "StatefulSet redis does not exist", ExitCode.wait, "wait-failed");
  const helper: ObjectRef = { apiVersion: "v1", kind: "Pod", name: REDIS_RESTORE_POD, namespace: ns };
  // One an interrupted restore left behind.
  await kube.delete(helper, { propagation: "Background" });
  await kube.scale(sts, 0);
  await untilGone(run, "Redis", { apiVersion: "v1", kind: "Pod", name: REDIS_POD, namespace: ns });
  try {
    await kube.create(redisRestorePod(live, ns));
    await until(run, `pod ${REDIS_RESTORE_POD}`, (view) => podReadiness(view.get("Pod", REDIS_RESTORE_POD)));
    await writeRedisSnapshot(run);
  } finally {
    await kube.delete(helper, { propagation: "Background" }).catch(() => undefined);
  }
  await untilGone(run, `pod ${REDIS_RESTORE_POD}`, helper);
  await kube.scale(sts, typed(live, "StatefulSet").spec?.replicas ?? 1);
  await until(run, "Redis is ready", (view) => {
    const now = view.get("StatefulSet", "redis");
    return now
      ? statefulSetReadiness(now)
      : { state: "failed", reason: "Missing", message: "StatefulSet redis is gone" };
  });
  return `Redis restored from a snapshot of ${run.manifest.createdAt}`;
}

/** The RDB streamed into the helper pod as the base of a fresh append-only directory, replacing Redis's old one. */
async function writeRedisSnapshot(run: RestoreRun): Promise<void> {
  const snapshot = run.manifest.redis!;
  const result = await putRedisSnapshot(run.kube, run.state.namespace, REDIS_RESTORE_POD, {
    file: join(dirname(run.options.file), snapshot.file),
    bytes: snapshot.bytes,
    signal: run.signal,
  });
  if (result.exitCode !== 0)
    throw stopped(
      run,
      `writing Redis's snapshot exited ${result.exitCode}: ${result.stderr.trim().split("\n").at(-1) ?? ""}`,
      ExitCode.wait,
      "wait-failed",
    );
}

/** Waits until the object no longer exists. */
function untilGone(run: RestoreRun, what: string, ref: ObjectRef): Promise<void> {
  return until(run, `${what} is gone`, (view) =>
    view.get(ref.kind, ref.name) ? { state: "pending", message: "deleting" } : { state: "ready", message: "gone" },
  );
}

/** The migration Job of the current web image, run again: deleted and created afresh from the recorded answers. */
async function migrate(run: RestoreRun): Promise<string> {
  const { kube, state } = run;
  const loaded = loadConfig({
    flags: { namespace: state.namespace },
    env: {},
    forInstall: true,
    installed: installedOf(state),
    apiKeyMayComeLater: true,
  });
  if (!loaded.ok)
    throw stopped(
      run,
      `the recorded answers do not render: ${loaded.problems.map((p) => p.field).join(", ")}`,
      ExitCode.usage,
      "refused",
    );
  const rendered = renderPlan(
    loaded.config,
    undefined,
    state.record.pullToken ? { pullToken: state.record.pullToken } : {},
  );
  const job = rendered.stages.flatMap((s) => s.objects).find((o) => o.kind === "Job")!;
  const ref: ObjectRef = { apiVersion: "batch/v1", kind: "Job", name: job.metadata.name, namespace: state.namespace };
  await kube.delete(ref, { propagation: "Background" });
  await untilGone(run, `the old ${job.metadata.name}`, ref);
  const created = await kube.create(job);
  await until(run, `Job ${job.metadata.name}`, (view) => {
    const live = view.get("Job", job.metadata.name);
    // The old Job's pods may linger while they are collected: only the new one's count.
    const ours = view.all("Pod").filter((p) => p.metadata.ownerReferences?.some((o) => o.uid === created.metadata.uid));
    return live ? jobReadinessWithPods(live, ours) : { state: "pending", message: "created" };
  });
  return `Job ${job.metadata.name} completed`;
}

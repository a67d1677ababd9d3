import { loadConfig } from "../config/load.js";
import { installedOf } from "./session.js";
import { type RestoreRun, stopped, until, untilGone, withinSeconds } from "./restore-run.js";
import { redisRestore } from "./restore-redis.js";
import { type Database, querySql, SESSION_NAMES, SqlError } from "../engine/database.js";
import { withDatabase } from "../engine/own-database.js";
import {
  checkRestored,
  clearLeftovers,
  discardRestoring,
  RestoreError,
  restoreIntoNew,
  swapIn,
} from "../engine/restore-database.js";
import { deploymentReadiness, jobReadinessWithPods, type Readiness } from "../engine/readiness.js";
import type { NamespaceView } from "../engine/view.js";
import { type KubeObject, type ObjectRef, typed } from "../facts/objects.js";
import type { Kube } from "../kube/types.js";
import { renderPlan } from "../render/render.js";
import { sizeOf } from "../base/sizes.js";
import { ExitCode } from "../base/exit-codes.js";
import { Stop } from "./locked.js";

// A restore's steps, in order, each bounded and each saying how to go on when it stops: web and
// worker stopped, the dump into a new database swapped in (engine/restore-database.ts), Redis's
// snapshot put back, the migration of the current image, web and worker started as they were.

/** The workloads that use the database: stopped while it is replaced. */
const APPS = ["mathison-web", "mathison-worker"] as const;

/** Stop web and worker, the database (and Redis), the migration, start them: each a step with its events. */
export async function stepsInOrder(run: RestoreRun, replicas: Readonly<Record<string, number>>): Promise<void> {
  const { kube, state } = run;
  await step(run, "stop", "scaling web and worker to 0", async () => {
    await scaleAppsToZero(kube, state.namespace);
    await until(run, "web and worker pods are gone", appsGone);
    return "web and worker stopped";
  });
  await step(run, "restore", `restoring ${sizeOf(run.manifest.bytes)} into a new database, then swapping it in`, () =>
    databaseRestored(run),
  );
  // Your own Redis is not the installer's to restore: the snapshot stays in the backup (the plan says so).
  if (run.manifest.redis && !run.state.record.answers?.["redisUrl"])
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

/** Web and worker told to stop (a restore or a move of the database follows). */
export async function scaleAppsToZero(kube: Kube, namespace: string): Promise<void> {
  for (const name of APPS) await kube.scale(deployment(namespace, name), 0);
}

/** Ready once no pod of web or worker is left. */
export function appsGone(view: NamespaceView): Readiness {
  const left = view.all("Pod").filter((p) => APPS.some((a) => p.metadata.labels?.["app.kubernetes.io/name"] === a));
  return left.length === 0
    ? { state: "ready", message: "stopped" }
    : { state: "pending", message: `${left.length} pods left` };
}

export async function currentReplicas(kube: Kube, namespace: string): Promise<Record<string, number>> {
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
 * The dump into a new database beside the application's, checked against its manifest, then
 * swapped in by renaming (the commit point, see engine/restore-database.ts). Whatever an earlier
 * restore left (its sessions, its databases) goes first. Every wait on the database is bounded
 * by --timeout; a client in the way is named and nothing is swapped.
 */
async function databaseRestored(run: RestoreRun): Promise<string> {
  return withDatabase(run.kube, run.state, (d) => restoredInto(run, d), run.signal);
}

async function restoredInto(run: RestoreRun, d: Database): Promise<string> {
  const { manifest, options } = run;
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

/**
 * Your own PostgreSQL: whether this user can do what a restore does there — create the new
 * database beside yours and, when the dump holds it, pgvector in it — asked before anything
 * stops, so a restore that cannot finish never starts. The reason, or undefined.
 */
export async function ownDatabaseRefusal(
  run: Pick<RestoreRun, "kube" | "state" | "manifest">,
): Promise<string | undefined> {
  if (!run.state.record.answers?.["postgresUrl"]) return undefined;
  const needsVector = run.manifest.schema?.extensions.includes("vector") ?? true;
  try {
    return await withDatabase(run.kube, run.state, (d) => restoreRightsRefusal(d, needsVector));
  } catch (err) {
    return `your own PostgreSQL did not answer: ${(err as Error).message}`;
  }
}

/** Whether the user of your own PostgreSQL may create a database beside its own (and pgvector in it): the reason not, or undefined. */
export async function restoreRightsRefusal(d: Database, needsVector: boolean): Promise<string | undefined> {
  const sql = `SELECT r.rolcreatedb OR r.rolsuper, r.rolsuper OR EXISTS (SELECT 1 FROM pg_roles a
    WHERE a.rolname IN ('rds_superuser', 'cloudsqlsuperuser', 'azure_pg_admin') AND pg_has_role(r.oid, a.oid, 'MEMBER'))
    FROM pg_roles r WHERE r.rolname = current_user;`;
  const [row] = await querySql(d, sql, { session: SESSION_NAMES.restore, timeoutMs: 15_000 });
  if (row?.[0] !== "t")
    return `user ${d.user} of your own PostgreSQL may not create databases, and a restore goes into a new one beside ${d.db}: restore as its admin user (RDS's master user, Cloud SQL's postgres), or grant CREATEDB`;
  if (needsVector && row[1] !== "t")
    return `user ${d.user} of your own PostgreSQL may not create the vector extension the dump holds: restore as its admin user (RDS's master user, Cloud SQL's postgres)`;
  return undefined;
}

import { typed } from "../../facts/objects.js";
import { jobReadinessWithPods } from "../../engine/readiness.js";
import { newestMigrationJob } from "../../engine/migration.js";
import type { Check, CheckResult } from "../types.js";
import type { VerifyContext } from "./context.js";
import { invoked } from "../../base/invocation.js";

const APPLIED = /migrations have been successfully applied|No pending migrations to apply/;

/** The newest migration Job completed, and its log says the migrations were applied. */
export const migrationCheck: Check<VerifyContext> = {
  id: "migration",
  group: "Workloads",
  title: "Database migration",
  needs: ["cluster"],
  async run({ kube, state }): Promise<CheckResult> {
    const ns = state.namespace;
    const job = newestMigrationJob((await kube.list("batch/v1", "Job", ns)).items);
    if (!job)
      return {
        status: "fail",
        message: "no migration Job in the namespace",
        hint: `re-run ${invoked()} install: it runs the migration`,
      };
    const pods = (
      await kube.list("v1", "Pod", ns, { labelSelector: `batch.kubernetes.io/job-name=${job.metadata.name}` })
    ).items;
    const r = jobReadinessWithPods(job, pods);
    if (r.state !== "ready")
      return {
        status: "fail",
        message: `Job/${job.metadata.name}: ${r.message}`,
        hint: `kubectl -n ${ns} logs job/${job.metadata.name}`,
      };
    const logs = await Promise.all(
      pods.map((p) => kube.logs(ns, p.metadata.name, "migrate", { tailLines: 200 }).catch(() => "")),
    );
    if (logs.some((l) => APPLIED.test(l)))
      return { status: "pass", message: `Job/${job.metadata.name} completed: the migrations were applied` };
    return {
      status: "warn",
      message: `Job/${job.metadata.name} completed, but its log (${pods.length === 0 ? "its pod is gone" : "read"}) does not say the migrations were applied`,
      hint: `kubectl -n ${ns} logs job/${job.metadata.name}`,
    };
  },
};

function deploymentCheck(
  id: string,
  name: string,
  title: string,
  expected: (ctx: VerifyContext) => string,
): Check<VerifyContext> {
  return {
    id,
    group: "Workloads",
    title,
    needs: ["cluster"],
    async run(ctx): Promise<CheckResult> {
      const d = await ctx.kube.get({ apiVersion: "apps/v1", kind: "Deployment", name, namespace: ctx.state.namespace });
      const hint = `kubectl -n ${ctx.state.namespace} describe deployment ${name}`;
      if (!d) return { status: "fail", message: `Deployment ${name} is missing`, hint: `re-run ${invoked()} install` };
      const dep = typed(d, "Deployment");
      const want = dep.spec?.replicas ?? 1;
      const ready = dep.status?.readyReplicas ?? 0;
      const image = dep.spec?.template.spec?.containers[0]?.image ?? "";
      if (image !== expected(ctx))
        return {
          status: "fail",
          message: `runs ${image}, the install record says ${expected(ctx)}`,
          hint: `someone changed it outside the installer: re-run ${invoked()} install`,
        };
      if (ready < want) return { status: "fail", message: `${ready}/${want} ready (${image})`, hint };
      return { status: "pass", message: `${ready}/${want} ready, ${image}` };
    },
  };
}

export const webCheck = deploymentCheck("web", "mathison-web", "Web", (c) => c.webImage);
export const workerCheck = deploymentCheck("worker", "mathison-worker", "Worker", (c) => c.workerImage);

const RECENT_MS = 10 * 60_000;

/** No recent readiness or liveness probe failures on the web pods. */
export const probesCheck: Check<VerifyContext> = {
  id: "probes",
  group: "Workloads",
  title: "Web probes",
  needs: ["cluster"],
  async run({ kube, state }): Promise<CheckResult> {
    const since = Date.now() - RECENT_MS;
    const events = (
      await kube.list("v1", "Event", state.namespace, { fieldSelector: "reason=Unhealthy" })
    ).items.filter(
      (e) =>
        String(e.involvedObject?.name ?? "").startsWith("mathison-web-") &&
        Date.parse((e.lastTimestamp ?? e.eventTime ?? "") as string) >= since,
    );
    if (events.length === 0) return { status: "pass", message: "no probe failures in the last 10 minutes" };
    return {
      status: "warn",
      message: `${events.length} probe ${events.length === 1 ? "failure" : "failures"} in the last 10 minutes, e.g. ${events[0]!.involvedObject?.name}: ${events[0]!.message}`,
      hint: `kubectl -n ${state.namespace} logs deploy/mathison-web`,
    };
  },
};

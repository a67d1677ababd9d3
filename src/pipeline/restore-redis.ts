import { dirname, join } from "node:path";
import { putRedisSnapshot } from "../engine/redis-snapshot.js";
import { podReadiness, statefulSetReadiness } from "../engine/readiness.js";
import { REDIS_RESTORE_POD } from "../facts/names.js";
import { type ObjectRef, typed } from "../facts/objects.js";
import { redisRestorePod } from "../render/restore-pod.js";
import { ExitCode } from "../base/exit-codes.js";
import { type RestoreRun, stopped, until, untilGone } from "./restore-run.js";

/**
 * Redis loads its data only when it starts, so the snapshot goes in while it is stopped: Redis
 * scaled to 0, a pod of its image mounting its volume takes the RDB as the base of a fresh
 * append-only file (Redis runs with --appendonly yes: it would ignore a plain dump.rdb), then
 * Redis starts again and loads it. `head -c` ends stdin at the snapshot's size.
 */
/** Redis stopped, its snapshot put back through a helper pod holding its volume, Redis started again. */
export async function redisRestore(run: RestoreRun): Promise<string> {
  const { kube, state } = run;
  const ns = state.namespace;
  const sts: ObjectRef = { apiVersion: "apps/v1", kind: "StatefulSet", name: "redis", namespace: ns };
  const live = await kube.get(sts);
  if (!live) throw stopped(run, "StatefulSet redis does not exist", ExitCode.wait, "wait-failed");
  const helper: ObjectRef = { apiVersion: "v1", kind: "Pod", name: REDIS_RESTORE_POD, namespace: ns };
  // One an interrupted restore left behind.
  await kube.delete(helper, { propagation: "Background" });
  await kube.scale(sts, 0);
  await until(run, "Redis's pod is gone", (view) =>
    view.all("Pod").some((p) => p.metadata.labels?.["app.kubernetes.io/name"] === "redis")
      ? { state: "pending", message: "stopping" }
      : { state: "ready", message: "gone" },
  );
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

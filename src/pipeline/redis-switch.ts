/*
 * Switching an install between the cluster's Redis and your own, as a step of `install` before
 * its stages. Redis holds BullMQ's queue (and a cache that refills itself): the queue is what
 * must not be lost, and BullMQ's jobs cannot be copied between servers (a managed Redis takes no
 * snapshot). So the switch drains it instead: web stops (no new jobs), the worker goes on until
 * no job is waiting, active or delayed in the Redis in use, then the stages start web and worker
 * on the other one. Records of finished jobs stay behind in the old Redis.
 */
import { describeRedis } from "../config/external.js";
import type { InstallConfig } from "../config/types.js";
import { withClientPod, clientPodName } from "../engine/client-pod.js";
import type { Reporter } from "../engine/events.js";
import { redisAnswer, redisThrough } from "../engine/external-probe.js";
import { podOf } from "../engine/database.js";
import { waitUntil } from "../engine/wait-until.js";
import type { Kube } from "../kube/types.js";
import { installedConfig } from "../record/installed-config.js";
import { type InstallRecord, lastSuccessfulRun } from "../record/install-record.js";
import { type InstallState, writeRecord } from "../record/store.js";
import { databaseClientPod } from "../render/client-pod.js";
import { invoked } from "../base/invocation.js";
import { failedBeforeStages, type PlannedRun } from "./install-steps.js";

/** Where Redis goes: "own" (your own, by `--redis-url`) or "cluster" (`--redis-url ""`). */
export type RedisSwitch = "own" | "cluster";

export function redisSwitchOf(state: InstallState, config: InstallConfig): RedisSwitch | undefined {
  const answers = state.record.answers;
  if (!answers || !lastSuccessfulRun(state.record)) return undefined;
  const was = Boolean(answers.redisUrl);
  const now = config.externalRedis !== undefined;
  if (was === now) return undefined;
  return now ? "own" : "cluster";
}

export function redisSwitchNotice(to: RedisSwitch, state: InstallState): string {
  const where = to === "own" ? "your own Redis" : "the cluster's Redis";
  const from = to === "own" ? "the cluster's Redis" : `your own Redis (${state.record.answers?.redisUrl})`;
  return `switching to ${where}: Redis holds BullMQ's queue, which cannot be copied between servers, so web stops and the switch waits until no job is waiting, active or delayed in ${from} (the worker finishes them), then web and worker start on ${where}; records of finished jobs stay behind${to === "own" ? ", and the cluster's Redis is removed (its volume kept)" : ""}`;
}

/** The switch written in the record before web stops: `status` names it until a run ends well. */
export async function redisSwitchPending(
  run: PlannedRun,
  to: RedisSwitch,
  started: InstallRecord,
): Promise<InstallRecord> {
  const redis = run.config.externalRedis;
  const url = redis ? describeRedis(redis) : undefined;
  const pending = started.switchingRedis?.to === to ? started.switchingRedis : undefined;
  const record: InstallRecord = {
    ...started,
    switchingRedis: pending ?? { to, ...(url ? { url } : {}), since: new Date().toISOString() },
  };
  await writeRecord(run.kube, run.state.namespace, record);
  return record;
}

/**
 * Counts BullMQ's unfinished jobs (keys under its default prefix `bull:`): waiting, active and
 * paused lists, delayed, prioritized and waiting-children sets. One script: the count is of one moment.
 */
const UNFINISHED_JOBS_LUA = `local n = 0
for _, k in ipairs(redis.call('KEYS', 'bull:*')) do
  local kind = string.match(k, ':([%w-]+)$')
  local t = redis.call('TYPE', k)['ok']
  if t == 'list' and (kind == 'wait' or kind == 'active' or kind == 'paused') then n = n + redis.call('LLEN', k)
  elseif t == 'zset' and (kind == 'delayed' or kind == 'prioritized' or kind == 'waiting-children') then n = n + redis.call('ZCARD', k) end
end
return n`;

const COUNT = ["EVAL", UNFINISHED_JOBS_LUA, "0"];

/**
 * Web stopped, then the queue of the Redis in use drained by the worker, bounded by `timeoutMs`.
 * A failure (jobs left at the end, Redis not answering) is said with how to go on; false.
 */
export async function redisDrained(
  run: PlannedRun,
  to: RedisSwitch,
  timeoutMs: number,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<boolean> {
  const { kube } = run;
  const ns = run.state.namespace;
  reporter.event({
    event: "step",
    step: "redis",
    status: "running",
    message: "stopping web: no new jobs while the queue drains",
  });
  try {
    await kube.scale({ apiVersion: "apps/v1", kind: "Deployment", name: "mathison-web", namespace: ns }, 0);
    await waitUntil(
      kube,
      ns,
      "web's pods are gone",
      (view) =>
        view.all("Pod").some((p) => p.metadata.labels?.["app.kubernetes.io/name"] === "mathison-web")
          ? { state: "pending", message: "stopping" }
          : { state: "ready", message: "stopped" },
      { timeoutMs, signal },
    );
    const left = await withQueueCount(run.kube, run.state, signal, (count) =>
      untilEmpty(count, timeoutMs, reporter, signal),
    );
    if (left > 0)
      throw new Error(
        `${left} job${left === 1 ? " is" : "s are"} still queued (waiting, active or delayed) after ${Math.round(timeoutMs / 1000)} s: the worker has not finished them`,
      );
    reporter.event({ event: "step", step: "redis", status: "done", message: "no job is queued: Redis can switch" });
    return true;
  } catch (err) {
    const why = signal.aborted ? "interrupted" : (err as Error).message;
    const back = to === "own" ? "without --redis-url" : `with --redis-url ${run.state.record.answers?.redisUrl}`;
    failedBeforeStages(
      run,
      reporter,
      "redis",
      `the switch of Redis stopped: ${why}; nothing switched, web is stopped: run the same command again once the worker is done (a longer --timeout waits longer), or ${invoked()} install --namespace ${ns} ${back} to start web again`,
      signal.aborted ? "interrupted" : "apply-failed",
    );
    return false;
  }
}

/** Polls the count every 2 s until it is 0 or the time is up: what is left. */
async function untilEmpty(
  count: () => Promise<number>,
  timeoutMs: number,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let said = -1;
  for (;;) {
    const n = await count();
    if (n === 0 || Date.now() >= deadline || signal.aborted) return n;
    if (n !== said)
      reporter.event({
        event: "step",
        step: "redis",
        status: "running",
        message: `${n} job${n === 1 ? "" : "s"} queued: waiting for the worker to finish them`,
      });
    said = n;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/** `use` with a way to count the unfinished jobs in the Redis the install uses now (yours through a client pod). */
async function withQueueCount<T>(
  kube: Kube,
  state: InstallState,
  signal: AbortSignal,
  use: (count: () => Promise<number>) => Promise<T>,
): Promise<T> {
  const ns = state.namespace;
  const config = installedConfig(state);
  const own = config.externalRedis;
  if (!own) {
    const pod = await podOf(kube, ns, "redis");
    return use(async () => {
      const r = await kube.exec(ns, pod, "redis", ["redis-cli", ...COUNT], { timeoutMs: 15_000 });
      return jobCount(r.exitCode, r.stdout.split("\n"), r.stderr);
    });
  }
  const target = { redis: own, password: config.secrets.redisPassword, ca: config.secrets.redisCaCert };
  return withClientPod(
    kube,
    databaseClientPod(config, ns, clientPodName()),
    (pod) =>
      use(async () => {
        const { exit, body } = redisAnswer(await redisThrough(kube, ns, pod, target, COUNT, signal));
        return jobCount(exit === "0" ? 0 : 1, body, body.join(" "));
      }),
    { timeoutMs: 90_000, signal },
  );
}

function jobCount(exitCode: number, lines: readonly string[], said: string): number {
  const n = Number(
    lines
      .map((l) => l.trim())
      .find((l) => /^\(integer\) \d+$|^\d+$/.test(l))
      ?.replace(/\D/g, ""),
  );
  if (exitCode !== 0 || !Number.isFinite(n))
    throw new Error(`Redis did not count its queue: ${said.trim() || "no answer"}`);
  return n;
}

import { randomBytes } from "node:crypto";
import { untilDone } from "../base/cleanups.js";
import type { InstallConfig } from "../config/types.js";
import type { KubeObject } from "../facts/objects.js";
import type { Kube } from "../kube/types.js";
import { databaseClientPod } from "../render/client-pod.js";
import { type PostgresFacts, probePostgres, probeRedis, type RedisFacts } from "./external-probe.js";
import { podReadiness } from "./readiness.js";
import { waitUntil } from "./wait-until.js";

// The short-lived pod your own databases are reached from (render/client-pod.ts): made, used and
// deleted around one piece of work, and deleted on the way out when Ctrl-C ends the process.

/** The client pod created, running, used, and deleted however `use` ends. */
export async function withClientPod<T>(
  kube: Kube,
  pod: KubeObject,
  use: (name: string) => Promise<T>,
  options: { readonly timeoutMs: number; readonly signal?: AbortSignal },
): Promise<T> {
  const ns = pod.metadata.namespace!;
  const name = pod.metadata.name;
  const remove = () =>
    kube
      .delete({ apiVersion: "v1", kind: "Pod", name, namespace: ns }, { propagation: "Background" })
      .catch(() => undefined);
  await kube.create(pod);
  // Ctrl-C while planning ends the process at once: the pod is deleted on the way out.
  const done = untilDone(remove);
  try {
    await waitUntil(kube, ns, `pod ${name}`, (view) => podReadiness(view.get("Pod", name)), options);
    return await use(name);
  } finally {
    done();
    await remove();
  }
}

export function clientPodName(): string {
  return `mathison-client-${randomBytes(3).toString("hex")}`;
}

export interface OwnDatabaseFacts {
  readonly pg?: PostgresFacts;
  readonly redis?: RedisFacts;
}

/** Your own PostgreSQL and Redis (those `config` has) asked from one client pod in `namespace`. */
export function askOwnDatabases(
  kube: Kube,
  config: InstallConfig,
  namespace: string,
  timeoutMs: number,
): Promise<OwnDatabaseFacts> {
  const s = config.secrets;
  const pg = config.externalPostgres;
  const redis = config.externalRedis;
  return withClientPod(
    kube,
    databaseClientPod(config, namespace, clientPodName()),
    async (pod) => {
      const [pgFacts, redisFacts] = await Promise.all([
        pg
          ? probePostgres(kube, namespace, pod, { pg, password: s.postgresPassword, ca: s.postgresCaCert })
          : undefined,
        redis ? probeRedis(kube, namespace, pod, { redis, password: s.redisPassword, ca: s.redisCaCert }) : undefined,
      ]);
      return { ...(pgFacts ? { pg: pgFacts } : {}), ...(redisFacts ? { redis: redisFacts } : {}) };
    },
    { timeoutMs },
  );
}

import type { InstallConfig } from "../config/types.js";
import { type KubeObject, typed } from "../facts/objects.js";
import type { ManifestSet } from "./manifests.js";
import { renderPlan } from "./render.js";

/** The containers of a client pod: psql and pg_dump in PostgreSQL's image, redis-cli in Redis's. */
export const POSTGRES_CLIENT_CONTAINER = "postgres-client";
export const REDIS_CLIENT_CONTAINER = "redis-client";
export const CLIENT_POD_LABELS = {
  "app.kubernetes.io/name": "mathison-client",
  "app.kubernetes.io/component": "database-client",
  "app.kubernetes.io/part-of": "mathison",
  "app.kubernetes.io/managed-by": "mathison",
} as const;

/**
 * A short-lived pod that reaches your own PostgreSQL and Redis from inside the cluster, as web
 * and worker will: the pinned PostgreSQL and Redis images (mirrored, pulled and secured as the
 * install's own database pods would be), placed as the install's pods are. It only sleeps: the
 * installer execs its clients in it, with the credentials on stdin. `activeDeadlineSeconds` ends
 * it even if the run that made it is killed before deleting it.
 */
export function databaseClientPod(
  config: InstallConfig,
  namespace: string,
  name: string,
  manifests?: ManifestSet,
): KubeObject {
  const inCluster = renderPlan({ ...config, externalPostgres: undefined, externalRedis: undefined }, manifests);
  const specOf = (app: string) => {
    const sts = inCluster.stages
      .flatMap((s) => s.objects)
      .find((o) => o.kind === "StatefulSet" && o.metadata.name === app)!;
    return typed(sts, "StatefulSet").spec!.template.spec!;
  };
  const pg = specOf("postgres");
  const redis = specOf("redis");
  const client = (container: (typeof pg.containers)[number], as: string) => ({
    name: as,
    image: container.image,
    command: ["sleep", "600"],
    securityContext: container.securityContext,
    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
  });
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { ...CLIENT_POD_LABELS } },
    spec: {
      restartPolicy: "Never",
      activeDeadlineSeconds: 900,
      automountServiceAccountToken: false,
      securityContext: pg.securityContext,
      ...(pg.nodeSelector ? { nodeSelector: pg.nodeSelector } : {}),
      ...(pg.tolerations ? { tolerations: pg.tolerations } : {}),
      ...(pg.affinity ? { affinity: pg.affinity } : {}),
      ...(pg.imagePullSecrets ? { imagePullSecrets: pg.imagePullSecrets } : {}),
      ...(pg.priorityClassName ? { priorityClassName: pg.priorityClassName } : {}),
      containers: [
        client(pg.containers[0]!, POSTGRES_CLIENT_CONTAINER),
        client(redis.containers[0]!, REDIS_CLIENT_CONTAINER),
      ],
      volumes: [{ name: "tmp", emptyDir: {} }],
    },
  };
}

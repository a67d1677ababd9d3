import {
  CA_MOUNT_DIR,
  externalDatabaseUrl,
  externalRedisUrl,
  POSTGRES_CA_FILE,
  REDIS_CA_FILE,
} from "../config/external.js";
import type { InstallConfig } from "../config/types.js";
import { CONFIGMAP_NAME, SECRET_NAME } from "../facts/names.js";
import type { KubeObject } from "../facts/objects.js";

/** The services your own databases replace, by the `app.kubernetes.io/name` of their objects. */
const IN_CLUSTER = { postgres: "postgres", redis: "redis" } as const;

/** The workloads that connect to PostgreSQL and Redis: they get the URLs and the CA bundles. */
const CLIENTS = new Set(["Deployment/mathison-web", "Deployment/mathison-worker", "Job/mathison-migrate"]);

interface MutableStage {
  objects: KubeObject[];
}

/** Why a parked StatefulSet runs no pod, on the object itself. */
export const PARKED_ANNOTATION = "mathison.dev/parked";

/**
 * `--postgres-url` / `--redis-url`: no StatefulSet, Service, PVC, init ConfigMap or
 * NetworkPolicy of the service your own replaces; DATABASE_URL and REDIS_URL point at yours (both
 * in the Secret: they carry passwords); the CA bundles you gave mounted where the URLs name them.
 * An install whose data moved to your own PostgreSQL keeps its PostgreSQL parked instead: every
 * object kept, the StatefulSet at 0 replicas, so its volume stays and the way back is one command.
 */
export function withExternalServices(
  stages: readonly MutableStage[],
  config: InstallConfig,
  parkedPostgres = false,
): void {
  const pg = config.externalPostgres;
  const redis = config.externalRedis;
  if (!pg && !redis) return;
  const dropped = new Set<string>([
    ...(pg && !parkedPostgres ? [IN_CLUSTER.postgres] : []),
    ...(redis ? [IN_CLUSTER.redis] : []),
  ]);
  for (const stage of stages) stage.objects = stage.objects.filter((o) => !replacedBy(o, dropped));
  if (pg && parkedPostgres) park(stages.flatMap((s) => s.objects));
  const all = stages.flatMap((s) => s.objects);
  const configMap = all.find((o) => o.kind === "ConfigMap" && o.metadata.name === CONFIGMAP_NAME)!;
  const secret = all.find((o) => o.kind === "Secret" && o.metadata.name === SECRET_NAME)!;
  const s = config.secrets;
  const put = (key: string, value: string) => {
    secret.data[key] = Buffer.from(value).toString("base64");
  };
  if (pg) {
    Object.assign(configMap.data, {
      POSTGRES_HOST: pg.host,
      POSTGRES_PORT: String(pg.port),
      POSTGRES_DB: pg.database,
      POSTGRES_USER: pg.user,
      POSTGRES_SSLMODE: pg.sslMode,
    });
    put("DATABASE_URL", externalDatabaseUrl(pg, s.postgresPassword, s.postgresCaCert !== ""));
    if (s.postgresCaCert) put("POSTGRES_CA_CERT", s.postgresCaCert);
  }
  if (redis) {
    delete configMap.data.REDIS_URL;
    put("REDIS_URL", externalRedisUrl(redis, s.redisPassword));
    if (s.redisPassword) put("REDIS_PASSWORD", s.redisPassword);
    if (s.redisCaCert) put("REDIS_CA_CERT", s.redisCaCert);
  }
  for (const obj of all) if (isClient(obj)) wireClient(obj, config);
}

function park(objects: readonly KubeObject[]): void {
  const sts = objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === IN_CLUSTER.postgres);
  if (!sts) return;
  sts.spec.replicas = 0;
  sts.metadata.annotations = {
    ...sts.metadata.annotations,
    [PARKED_ANNOTATION]: 'the data moved to your own PostgreSQL; install --postgres-url "" moves it back',
  };
}

function replacedBy(obj: KubeObject, dropped: ReadonlySet<string>): boolean {
  const name = obj.metadata.labels?.["app.kubernetes.io/name"];
  if (name && dropped.has(name)) return true;
  // The policies that let the app reach the in-cluster services select those services' pods.
  const target =
    obj.kind === "NetworkPolicy" ? obj.spec?.podSelector?.matchLabels?.["app.kubernetes.io/name"] : undefined;
  return target !== undefined && dropped.has(target);
}

function isClient(obj: KubeObject): boolean {
  const name = obj.kind === "Job" ? "mathison-migrate" : obj.metadata.name;
  return CLIENTS.has(`${obj.kind}/${name}`) && obj.spec?.template?.spec !== undefined;
}

/** REDIS_URL from the Secret, and the CA bundles as files under CA_MOUNT_DIR. */
function wireClient(obj: KubeObject, config: InstallConfig): void {
  const pod = obj.spec.template.spec;
  const items = [
    ...(config.externalPostgres && config.secrets.postgresCaCert
      ? [{ key: "POSTGRES_CA_CERT", path: POSTGRES_CA_FILE }]
      : []),
    ...(config.externalRedis && config.secrets.redisCaCert ? [{ key: "REDIS_CA_CERT", path: REDIS_CA_FILE }] : []),
  ];
  for (const c of pod.containers) {
    if (config.externalRedis)
      for (const env of c.env ?? [])
        if (env.name === "REDIS_URL") env.valueFrom = { secretKeyRef: { name: SECRET_NAME, key: "REDIS_URL" } };
    if (items.length > 0)
      c.volumeMounts = [...(c.volumeMounts ?? []), { name: "external-ca", mountPath: CA_MOUNT_DIR, readOnly: true }];
  }
  if (items.length > 0)
    pod.volumes = [...(pod.volumes ?? []), { name: "external-ca", secret: { secretName: SECRET_NAME, items } }];
}

/** The backing stage's title for what it still runs. */
export function backingTitle(config: InstallConfig, parkedPostgres = false): string | undefined {
  const pg = config.externalPostgres ? (parkedPostgres ? "PostgreSQL (parked)" : undefined) : "PostgreSQL";
  const runs = [pg, config.externalRedis ? undefined : "Redis"].filter((t) => t !== undefined);
  return runs.length > 0 ? runs.join(" and ") : undefined;
}

import { REDIS_CONTAINER, REDIS_RESTORE_POD } from "../facts/names.js";
import { type KubeObject, typed } from "../facts/objects.js";

/** A pod of Redis's image that only holds its volume: placed, pulled and secured as Redis's own pods are. */
export function redisRestorePod(sts: KubeObject, namespace: string): KubeObject {
  const template = typed(sts, "StatefulSet").spec!.template.spec!;
  const redis = template.containers.find((c) => c.name === REDIS_CONTAINER) ?? template.containers[0]!;
  const claim = typed(sts, "StatefulSet").spec!.volumeClaimTemplates?.[0]?.metadata?.name ?? "data";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: REDIS_RESTORE_POD,
      namespace,
      labels: { "app.kubernetes.io/part-of": "mathison", "app.kubernetes.io/component": "restore" },
    },
    spec: {
      restartPolicy: "Never",
      ...pick(template, [
        "securityContext",
        "nodeSelector",
        "tolerations",
        "affinity",
        "imagePullSecrets",
        "priorityClassName",
      ]),
      containers: [
        {
          name: REDIS_CONTAINER,
          image: redis.image,
          command: ["sleep", "3600"],
          ...pick(redis, ["securityContext", "resources"]),
          volumeMounts: [{ name: claim, mountPath: "/data" }],
        },
      ],
      volumes: [{ name: claim, persistentVolumeClaim: { claimName: `${claim}-redis-0` } }],
    },
  };
}

function pick<T extends object>(from: T, keys: readonly (keyof T)[]): Partial<T> {
  return Object.fromEntries(keys.filter((k) => from[k] !== undefined).map((k) => [k, from[k]])) as Partial<T>;
}

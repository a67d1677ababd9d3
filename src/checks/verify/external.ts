import { installedConfig } from "../../record/installed-config.js";
import {
  clientPodName,
  type PostgresFacts,
  probePostgres,
  probeRedis,
  type RedisFacts,
  withClientPod,
} from "../../engine/external-probe.js";
import { databaseClientPod } from "../../render/client-pod.js";
import type { VerifyContext } from "./context.js";

/** Whether the install uses your own PostgreSQL / Redis, as its record says. */
export const ownPostgres = (ctx: VerifyContext): boolean => Boolean(ctx.answers["postgresUrl"]);
export const ownRedis = (ctx: VerifyContext): boolean => Boolean(ctx.answers["redisUrl"]);

export interface ExternalFacts {
  readonly pg?: PostgresFacts;
  readonly redis?: RedisFacts;
}

const asked = new WeakMap<VerifyContext, Promise<ExternalFacts>>();

/** Your own databases asked once per verification, from a client pod in the install's namespace. */
export function externalFacts(ctx: VerifyContext): Promise<ExternalFacts> {
  let p = asked.get(ctx);
  if (!p) {
    p = ask(ctx);
    asked.set(ctx, p);
  }
  return p;
}

async function ask(ctx: VerifyContext): Promise<ExternalFacts> {
  const config = installedConfig(ctx.state);
  const ns = ctx.state.namespace;
  const s = config.secrets;
  return withClientPod(
    ctx.kube,
    databaseClientPod(config, ns, clientPodName()),
    async (pod) => {
      const [pg, redis] = await Promise.all([
        config.externalPostgres
          ? probePostgres(ctx.kube, ns, pod, {
              pg: config.externalPostgres,
              password: s.postgresPassword,
              ca: s.postgresCaCert,
            })
          : undefined,
        config.externalRedis
          ? probeRedis(ctx.kube, ns, pod, { redis: config.externalRedis, password: s.redisPassword, ca: s.redisCaCert })
          : undefined,
      ]);
      return { ...(pg ? { pg } : {}), ...(redis ? { redis } : {}) };
    },
    { timeoutMs: 60_000 },
  );
}

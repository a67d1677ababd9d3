import type { FieldKey } from "../../config/fields.js";
import { recordedAnswers } from "../../config/installed.js";
import { resolveConfig } from "../../config/resolve.js";
import type { SecretKey } from "../../config/secret-keys.js";
import type { RawSource } from "../../config/sources.js";
import type { InstallConfig } from "../../config/types.js";
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
  const config = installedConfig(ctx);
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

/** The install's configuration from its record and its Secret (what the client pod and its clients need). */
function installedConfig(ctx: VerifyContext): InstallConfig {
  const answers = recordedAnswers(
    {
      answers: ctx.answers as Partial<Record<FieldKey, string>>,
      secrets: {},
      recordName: "record",
      secretName: "Secret",
    },
    false,
  );
  const secrets: RawSource = {};
  for (const [key, value] of Object.entries(ctx.state.secrets) as [SecretKey, string][])
    if (value) secrets[key] = { value, field: `Secret ${key}` };
  const r = resolveConfig([answers, secrets]);
  if (!r.ok) throw new Error(`the install's record does not resolve: ${r.problems.map((p) => p.field).join(", ")}`);
  return r.config;
}

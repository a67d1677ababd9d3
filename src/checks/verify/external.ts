import { askOwnDatabases, type OwnDatabaseFacts } from "../../engine/client-pod.js";
import { oncePer } from "../../base/once-per.js";
import { installedConfig } from "../../record/installed-config.js";
import type { VerifyContext } from "./context.js";

/** Whether the install uses your own PostgreSQL / Redis, as its record says. */
export const ownPostgres = (ctx: VerifyContext): boolean => Boolean(ctx.answers["postgresUrl"]);
export const ownRedis = (ctx: VerifyContext): boolean => Boolean(ctx.answers["redisUrl"]);

export type ExternalFacts = OwnDatabaseFacts;

/** Your own databases asked once per verification, from a client pod in the install's namespace. */
export const externalFacts = oncePer(
  (ctx: VerifyContext): Promise<ExternalFacts> =>
    askOwnDatabases(ctx.kube, installedConfig(ctx.state), ctx.state.namespace, 60_000),
);

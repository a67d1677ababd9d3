import { describePostgres, describeRedis } from "../../config/external.js";
import type { InstallConfig } from "../../config/types.js";
import { askOwnDatabases, type OwnDatabaseFacts } from "../../engine/client-pod.js";
import type { ConnectFailure, Failed, PostgresFacts, RedisFacts } from "../../engine/external-probe.js";
import { oncePer } from "../../base/once-per.js";
import type { CheckResult } from "../types.js";
import { ask } from "./access.js";
import type { PreflightCheck, PreflightContext } from "./context.js";

// Your own PostgreSQL and Redis, checked from a pod in the cluster before anything is applied:
// each question its own check, so a failure says which step and why (DNS, a refused port, a
// timeout, TLS, the password, the server's version, pgvector).

type Probed = OwnDatabaseFacts;

/**
 * One client pod per preflight, shared by its checks. It runs in the install's namespace, or in
 * `default` until that namespace exists.
 */
const probed = oncePer((ctx: PreflightContext): Promise<Probed> => {
  const ns = ctx.state.namespaceExists ? ctx.config.namespace : "default";
  return askOwnDatabases(ctx.kube, ctx.config, ns, 90_000);
});

const REACH: ReadonlySet<ConnectFailure> = new Set(["dns", "refused", "timeout", "tls"]);

const HINTS: Readonly<Record<ConnectFailure, (what: string, where: string) => string>> = {
  dns: (what) =>
    `the name must resolve inside the cluster: check ${what}'s host (a private endpoint needs the cluster's VPC DNS)`,
  refused: (what) => `nothing listens there: check ${what}'s port, and that the service is running`,
  timeout: (what, where) =>
    `no answer from ${where}: a firewall or security group must let the cluster's nodes reach ${what} (RDS: its security group's inbound rule; Cloud SQL: authorised networks or private IP)`,
  tls: (what) =>
    what === "Redis"
      ? "give the CA bundle that signed Redis's certificate (--redis-ca-file), connect by the name on the certificate, and use rediss:// only for a TLS port"
      : "give the CA bundle that signed PostgreSQL's certificate (--postgres-ca-file; RDS: global-bundle.pem, Cloud SQL: server-ca.pem) and connect by the name on the certificate, or choose another --postgres-sslmode",
  password: (what) =>
    what === "Redis"
      ? "give Redis's password: --redis-password-file or MATHISON_REDIS_PASSWORD"
      : "give the user's password: --postgres-password-file or MATHISON_POSTGRES_PASSWORD",
  login: () => "check the user and the database in the URL, and that the user may log in to it",
  other: () => "the client's message above says what went wrong",
};

function failedResult(what: string, where: string, failed: Failed, step: string): CheckResult {
  return {
    status: "fail",
    message: `${step} ${where}: ${failed.said} (${failed.kind})`,
    hint: HINTS[failed.kind](what, where),
  };
}

const usesPostgres = (c: InstallConfig) => c.externalPostgres !== undefined;
const usesRedis = (c: InstallConfig) => c.externalRedis !== undefined;
const GROUP = "Your own databases";

/** The client pod: created, exec'd into and deleted in the install's namespace. */
function clientPodAccess(uses: (c: InstallConfig) => boolean): PreflightCheck["reads"] {
  return ({ config }) => {
    if (!uses(config)) return [];
    const ns = config.namespace;
    return [ask("Pod", "create", ns), ask("Pod", "delete", ns), ask("Pod", "create", ns, "exec")];
  };
}

/** A check of your own database `uses` picks, judged on what the shared client pod found. */
function ownCheck(
  id: string,
  title: string,
  uses: (c: InstallConfig) => boolean,
  judge: (probed: Probed, ctx: PreflightContext) => CheckResult,
): PreflightCheck {
  return {
    id,
    group: GROUP,
    title,
    needs: ["exec", "network"],
    timeoutMs: 120_000,
    applies: uses,
    reads: clientPodAccess(uses),
    run: async (ctx) => judge(await probed(ctx), ctx),
  };
}

function postgresCheck(
  id: string,
  title: string,
  judge: (facts: PostgresFacts, where: string, ctx: PreflightContext) => CheckResult,
): PreflightCheck {
  return ownCheck(id, title, usesPostgres, ({ pg }, ctx) =>
    judge(pg!, describePostgres(ctx.config.externalPostgres!), ctx),
  );
}

export const postgresReachCheck = postgresCheck("postgres-reach", "PostgreSQL reachable", (facts, where, ctx) => {
  if (facts.failed && REACH.has(facts.failed.kind))
    return failedResult("PostgreSQL", where, facts.failed, "could not reach");
  const mode = ctx.config.externalPostgres!.sslMode;
  return {
    status: "pass",
    message: facts.failed
      ? `${where} answered (sslmode ${mode})`
      : `${where} answered, ${facts.tls ? `over TLS (sslmode ${mode})` : `without TLS (sslmode ${mode})`}`,
  };
});

export const postgresLoginCheck = postgresCheck("postgres-login", "PostgreSQL login", (facts, where) => {
  if (facts.failed && REACH.has(facts.failed.kind))
    return { status: "skip", message: "not reached", hint: "see PostgreSQL reachable" };
  if (facts.failed) return failedResult("PostgreSQL", where, facts.failed, "could not log in to");
  return { status: "pass", message: `logged in as ${where}` };
});

export const postgresVersionCheck = postgresCheck("postgres-version", "PostgreSQL version", (facts) => {
  if (facts.failed) return { status: "skip", message: "not logged in", hint: "see PostgreSQL login" };
  if ((facts.versionNum ?? 0) < 150000)
    return {
      status: "fail",
      message: `the server is PostgreSQL ${facts.version}; Mathison needs 15 or later`,
      hint: "upgrade the server (every managed service offers 15, 16 and 17)",
    };
  return { status: "pass", message: `PostgreSQL ${facts.version}` };
});

export const postgresVectorCheck = postgresCheck("postgres-vector", "pgvector", (facts, _where, ctx) => {
  if (facts.failed) return { status: "skip", message: "not logged in", hint: "see PostgreSQL login" };
  const { database, user } = ctx.config.externalPostgres!;
  if (facts.vectorInstalled)
    return { status: "pass", message: `vector ${facts.vectorInstalled} is installed in ${database}` };
  if (!facts.vectorAvailable)
    return {
      status: "fail",
      message: "the server does not offer the vector extension (pgvector)",
      hint: "use a server with pgvector (RDS, Cloud SQL, Azure Database, Neon and Crunchy have it; self-run: install the pgvector package)",
    };
  if (!facts.mayCreateExtension)
    return {
      status: "fail",
      message: `vector ${facts.vectorAvailable} is available but not installed in ${database}, and ${user} may not create it`,
      hint: `as an admin of the server: psql -d ${database} -c "CREATE EXTENSION vector"`,
    };
  return {
    status: "pass",
    message: `vector ${facts.vectorAvailable} is available; the install creates it in ${database} before the migration`,
  };
});

function redisCheck(
  id: string,
  title: string,
  judge: (facts: RedisFacts, where: string) => CheckResult,
): PreflightCheck {
  return ownCheck(id, title, usesRedis, ({ redis }, ctx) => judge(redis!, describeRedis(ctx.config.externalRedis!)));
}

export const redisReachCheck = redisCheck("redis-reach", "Redis reachable", (facts, where) => {
  if (facts.failed && REACH.has(facts.failed.kind))
    return failedResult("Redis", where, facts.failed, "could not reach");
  return { status: "pass", message: `${where} answered` };
});

export const redisAuthCheck = redisCheck("redis-auth", "Redis AUTH and PING", (facts, where) => {
  if (facts.failed && REACH.has(facts.failed.kind))
    return { status: "skip", message: "not reached", hint: "see Redis reachable" };
  if (facts.failed) return failedResult("Redis", where, facts.failed, "no PONG from");
  return { status: "pass", message: `${where} answered PING with PONG` };
});

export const EXTERNAL_CHECKS: readonly PreflightCheck[] = [
  postgresReachCheck,
  postgresLoginCheck,
  postgresVersionCheck,
  postgresVectorCheck,
  redisReachCheck,
  redisAuthCheck,
];

import { typed } from "../../facts/objects.js";
import { databaseOf, podOf, POSTGRES_CONTAINER, runSql, SESSION_NAMES, type SqlResult } from "../../engine/database.js";
import type { ExecResult } from "../../kube/types.js";
import type { Check, CheckResult } from "../types.js";
import type { VerifyContext } from "./context.js";
import { externalFacts, ownPostgres, ownRedis } from "./external.js";

/** The postgres and redis Services have ready endpoints: web and worker can reach them. */
export const endpointsCheck: Check<VerifyContext> = {
  id: "endpoints",
  group: "Backing services",
  title: "PostgreSQL and Redis endpoints",
  needs: ["cluster"],
  async run(ctx): Promise<CheckResult> {
    const { kube, state } = ctx;
    const ns = state.namespace;
    const services = [...(ownPostgres(ctx) ? [] : ["postgres"]), ...(ownRedis(ctx) ? [] : ["redis"])];
    if (services.length === 0)
      return { status: "skip", message: "PostgreSQL and Redis are your own: no Service of theirs in the cluster" };
    const counts = await Promise.all(
      services.map(async (svc) => {
        const slices = (
          await kube.list("discovery.k8s.io/v1", "EndpointSlice", ns, {
            labelSelector: `kubernetes.io/service-name=${svc}`,
          })
        ).items;
        const ready = slices
          .flatMap((s) => typed(s, "EndpointSlice").endpoints ?? [])
          .filter((e) => e.conditions?.ready !== false).length;
        return [svc, ready] as const;
      }),
    );
    const empty = counts.filter(([, n]) => n === 0).map(([svc]) => svc);
    if (empty.length > 0)
      return {
        status: "fail",
        message: `Service ${empty.join(" and ")} has no ready endpoint`,
        hint: `kubectl -n ${ns} get pods,endpointslices: the StatefulSet's pod is not Ready`,
      };
    return { status: "pass", message: counts.map(([svc, n]) => `${svc} ${n} ready`).join(", ") };
  },
};

/** How long a check's statement may take: a database that does not answer in this is not answering. */
const CHECK_TIMEOUT_MS = 10_000;

/** What a failed exec'd command said, in one line: its first error line, or its exit code. */
function saidInOneLine(r: Pick<ExecResult, "exitCode" | "stdout" | "stderr">): string {
  const line = (r.stderr.trim() || r.stdout.trim()).split("\n")[0];
  return line ? `${line} (exit ${r.exitCode})` : `exit ${r.exitCode}`;
}

/**
 * The SQL in the PostgreSQL pod as the installer runs every statement (engine/database.ts: SQL on
 * stdin, the session named, bounded in time): the database's own view, not a port probe.
 */
async function psql(
  ctx: VerifyContext,
  sql: string,
): Promise<{ result: SqlResult; user: string; db: string; pod: string; command: string }> {
  const d = await databaseOf(ctx.kube, ctx.state.namespace);
  const result = await runSql(d, sql, { session: SESSION_NAMES.verify, timeoutMs: CHECK_TIMEOUT_MS, constant: true });
  return {
    result,
    user: d.user,
    db: d.db,
    pod: d.pod,
    command: `kubectl -n ${ctx.state.namespace} exec ${d.pod} -c ${POSTGRES_CONTAINER} -- psql -U ${d.user} -d ${d.db} -c "${sql}"`,
  };
}

/** PostgreSQL answers a query as the application's user, in the application's database. */
export const postgresQueryCheck: Check<VerifyContext> = {
  id: "postgres-query",
  group: "Backing services",
  title: "PostgreSQL answers",
  needs: ["exec"],
  async run(ctx): Promise<CheckResult> {
    if (ownPostgres(ctx)) return ownPostgresAnswers(ctx);
    const { result, user, db, pod, command } = await psql(ctx, "SELECT 1");
    if (result.exitCode !== 0 || result.stdout.trim() !== "1") {
      return {
        status: "fail",
        message: `SELECT 1 as ${user} in ${db} failed: ${saidInOneLine(result)}`,
        hint: `${command}\nkubectl -n ${ctx.state.namespace} logs ${pod} -c ${POSTGRES_CONTAINER}`,
      };
    }
    return { status: "pass", message: `SELECT 1 as ${user} in database ${db} returned 1` };
  },
};

/** The `vector` extension exists in the application's database: embeddings need it. */
export const vectorExtensionCheck: Check<VerifyContext> = {
  id: "pgvector",
  group: "Backing services",
  title: "pgvector extension",
  needs: ["exec"],
  async run(ctx): Promise<CheckResult> {
    if (ownPostgres(ctx)) return ownVector(ctx);
    const { result, user, db, pod, command } = await psql(
      ctx,
      "SELECT extversion FROM pg_extension WHERE extname = 'vector'",
    );
    if (result.exitCode !== 0)
      return { status: "fail", message: `could not ask PostgreSQL: ${saidInOneLine(result)}`, hint: command };
    const version = result.stdout.trim();
    if (!version) {
      return {
        status: "fail",
        message: `the vector extension is not installed in database ${db}`,
        hint: `the image must be pgvector/pgvector; then: kubectl -n ${ctx.state.namespace} exec ${pod} -c ${POSTGRES_CONTAINER} -- psql -U ${user} -d ${db} -c "CREATE EXTENSION vector"`,
      };
    }
    return { status: "pass", message: `vector ${version} is installed in database ${db}` };
  },
};

/** Redis answers PING with PONG. */
export const redisPingCheck: Check<VerifyContext> = {
  id: "redis-ping",
  group: "Backing services",
  title: "Redis answers",
  needs: ["exec"],
  async run(ctx): Promise<CheckResult> {
    if (ownRedis(ctx)) return ownRedisPing(ctx);
    const { kube, state } = ctx;
    const pod = await podOf(kube, state.namespace, "redis");
    const r = await kube.exec(state.namespace, pod, "redis", ["redis-cli", "ping"]);
    if (r.exitCode !== 0 || r.stdout.trim() !== "PONG") {
      return {
        status: "fail",
        message: `PING did not get PONG: ${saidInOneLine(r)}`,
        hint: `kubectl -n ${state.namespace} exec ${pod} -c redis -- redis-cli ping\nkubectl -n ${state.namespace} logs ${pod} -c redis`,
      };
    }
    return { status: "pass", message: "PING answered PONG" };
  },
};

const OWN_HINT = "mathison-install preflight names what fails on the way to it (DNS, the port, TLS, the password)";

/** Your own PostgreSQL, from a client pod in the namespace, as the app's user and database. */
async function ownPostgresAnswers(ctx: VerifyContext): Promise<CheckResult> {
  const { pg } = await externalFacts(ctx);
  const where = `${ctx.answers["postgresUrl"]}`;
  if (pg?.failed) return { status: "fail", message: `${where}: ${pg.failed.said} (${pg.failed.kind})`, hint: OWN_HINT };
  return { status: "pass", message: `your own PostgreSQL ${pg?.version} answered from the cluster (${where})` };
}

async function ownVector(ctx: VerifyContext): Promise<CheckResult> {
  const { pg } = await externalFacts(ctx);
  if (pg?.failed)
    return { status: "skip", message: "your own PostgreSQL did not answer", hint: "see PostgreSQL answers" };
  if (!pg?.vectorInstalled)
    return {
      status: "fail",
      message: "the vector extension is not installed in your own PostgreSQL's database",
      hint: 'as an admin of the server: psql -d DATABASE -c "CREATE EXTENSION vector"',
    };
  return { status: "pass", message: `vector ${pg.vectorInstalled} is installed in your own PostgreSQL's database` };
}

async function ownRedisPing(ctx: VerifyContext): Promise<CheckResult> {
  const { redis } = await externalFacts(ctx);
  const where = `${ctx.answers["redisUrl"]}`;
  if (redis?.failed)
    return { status: "fail", message: `${where}: ${redis.failed.said} (${redis.failed.kind})`, hint: OWN_HINT };
  return { status: "pass", message: `your own Redis answered PING with PONG from the cluster (${where})` };
}

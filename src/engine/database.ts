import { PassThrough, Readable } from "node:stream";
import type { Kube } from "../kube/types.js";
import { CONFIGMAP_NAME } from "../facts/names.js";
import { typed } from "../facts/objects.js";
import { type Database, databaseCommand } from "./database-command.js";

export { type Database, databaseCommand, type OwnPostgres, POSTGRES_CONTAINER } from "./database-command.js";

/**
 * The running pod of a backing service, found by its label (`app.kubernetes.io/name`): the
 * StatefulSet's one pod, whatever its name. With none running, the first there is, or the
 * StatefulSet's first pod's name, so the exec's own error says what is wrong.
 */
export async function podOf(kube: Kube, namespace: string, service: "postgres" | "redis"): Promise<string> {
  const pods = (await kube.list("v1", "Pod", namespace, { labelSelector: `app.kubernetes.io/name=${service}` })).items;
  const running = pods.find((p) => typed(p, "Pod").status?.phase === "Running" && !p.metadata.deletionTimestamp);
  return (running ?? pods[0])?.metadata.name ?? `${service}-0`;
}

/** The application's database and user, as the install's ConfigMap names them. */
export async function databaseNames(kube: Kube, namespace: string): Promise<{ user: string; db: string }> {
  const cm = await kube.get({ apiVersion: "v1", kind: "ConfigMap", name: CONFIGMAP_NAME, namespace });
  return {
    user: (cm && typed(cm, "ConfigMap").data?.["POSTGRES_USER"]) || "mathison",
    db: (cm && typed(cm, "ConfigMap").data?.["POSTGRES_DB"]) || "mathison",
  };
}

/**
 * How the installer's own sessions are named in `pg_stat_activity`: a run killed mid-statement
 * leaves its session working (a dropped exec connection does not end the process in the pod);
 * the next run finds it by this name and ends it.
 */
export const SESSION_NAMES = {
  restore: "mathison-install restore",
  rotate: "mathison-install rotate",
  backup: "mathison-install backup",
  verify: "mathison-install verify",
} as const;
export type SessionName = (typeof SESSION_NAMES)[keyof typeof SESSION_NAMES];

export async function databaseOf(kube: Kube, namespace: string): Promise<Database> {
  const [names, pod] = await Promise.all([databaseNames(kube, namespace), podOf(kube, namespace, "postgres")]);
  return { kube, namespace, pod, ...names };
}

/** A database to connect to that is never the one renamed or dropped. */
export function maintenanceDb(d: Database): string {
  return d.db === "postgres" ? "template1" : "postgres";
}

export interface SqlOptions {
  /** The session's `application_name`. */
  readonly session: SessionName;
  /** Another database than the application's (the maintenance one, a restore's new one). */
  readonly db?: string;
  /** Each statement's `statement_timeout` and `lock_timeout`: no wait on the database is unbounded. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /**
   * A constant statement that holds no secret (a check's SELECT 1), given as psql's -c: no stdin
   * to keep open, so nothing of the session outlives the statement when a run goes away mid-exec.
   */
  readonly constant?: boolean;
}

export interface SqlResult {
  readonly exitCode: number;
  /** psql's unaligned, tuples-only output: one row per line, columns split by `|`. */
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * psql in the PostgreSQL pod with the SQL as its stdin — never in a command line, which the API
 * server and the kubelet may log — its session named and every statement bounded in time.
 * Statements run one by one (autocommit) unless the SQL says BEGIN; the first error stops it.
 * `head -c` ends the input, as some exec implementations never pass its end on.
 */
export async function runSql(d: Database, sql: string, options: SqlOptions): Promise<SqlResult> {
  const input = Buffer.from(sql.endsWith("\n") ? sql : `${sql}\n`);
  const ms = String(Math.max(1, Math.round(options.timeoutMs)));
  const env = 'PGAPPNAME="$1" PGOPTIONS="-c statement_timeout=$2 -c lock_timeout=$2" ';
  const psql = 'psql -X -q -tA -v ON_ERROR_STOP=1 -U "$3" -d "$4"';
  const script = options.constant ? `${env}${psql} -c "$0"` : `head -c "$0" | ${env}${psql}`;
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  const run = databaseCommand(
    d,
    script,
    [options.constant ? sql : String(input.length), options.session, ms, d.user, options.db ?? d.db],
    options.constant ? undefined : Readable.from([input]),
  );
  const result = await d.kube.execStream(d.namespace, d.pod, run.container, run.command, {
    ...(run.stdin ? { stdin: run.stdin } : {}),
    stdout: out,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { exitCode: result.exitCode, stdout: Buffer.concat(chunks).toString("utf8"), stderr: result.stderr };
}

/** As runSql; a failure throws with psql's first error line, `redact` never in it. */
export async function querySql(d: Database, sql: string, options: SqlOptions, redact?: string): Promise<string[][]> {
  const r = await runSql(d, sql, options);
  if (r.exitCode !== 0) throw new SqlError(`psql exited ${r.exitCode}: ${errorLine(r.stderr, redact)}`, r.stderr);
  return r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("|"));
}

/** A statement PostgreSQL refused or stopped; `timedOut` when a lock or statement timeout ended it. */
export class SqlError extends Error {
  readonly timedOut: boolean;
  constructor(message: string, stderr: string) {
    super(message);
    this.timedOut = /canceling statement due to (lock|statement) timeout|is being accessed by other users/.test(stderr);
  }
}

function errorLine(stderr: string, redact: string | undefined): string {
  const text = redact ? stderr.split(redact).join("<redacted>") : stderr;
  const lines = text.trim().split("\n");
  return lines.find((l) => /ERROR|FATAL/.test(l))?.trim() ?? lines[0]?.trim() ?? "no message";
}

/** A quoted SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A quoted SQL string literal. */
export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Ends the sessions an earlier run of the installer left working (by their `application_name`),
 * so their transactions and locks go with them; how many there were.
 */
export async function endLeftSessions(d: Database, names: readonly SessionName[], timeoutMs: number): Promise<number> {
  const rows = await querySql(
    d,
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name IN (${names.map(literal).join(", ")}) AND pid <> pg_backend_pid();`,
    { session: names[0]!, db: maintenanceDb(d), timeoutMs },
  );
  return rows.length;
}

/**
 * Ends the sessions a killed backup left waiting for input (its exec'd psql goes on in the pod,
 * connected, idle): they keep a database from being renamed. Only those idle for 10 s: a backup
 * that runs is in a statement or a transaction, never idle that long. How many there were.
 */
export async function endIdleBackups(d: Database, timeoutMs: number): Promise<number> {
  const rows = await querySql(
    d,
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ${literal(SESSION_NAMES.backup)}
       AND state = 'idle' AND state_change < now() - interval '10 seconds' AND pid <> pg_backend_pid();`,
    { session: SESSION_NAMES.restore, db: maintenanceDb(d), timeoutMs },
  );
  return rows.length;
}

/** Another client's session on a database: what names it in a message. */
export interface ForeignSession {
  readonly pid: string;
  readonly application: string;
  readonly client: string;
  readonly state: string;
  /** The relations it holds locks on, or "" for none. */
  readonly holds: string;
}

/** The sessions on database `db` that are not this run's: they keep it from being renamed. */
export async function sessionsOn(
  d: Database,
  db: string,
  ours: SessionName,
  timeoutMs: number,
): Promise<ForeignSession[]> {
  // Connected to `db` itself: pg_locks' relation ids resolve only there.
  const rows = await querySql(
    d,
    `SELECT a.pid, coalesce(nullif(a.application_name, ''), '-'), coalesce(host(a.client_addr), 'local'), coalesce(a.state, '-'),
       coalesce((SELECT string_agg(DISTINCT l.mode || ' on ' || coalesce(c.relname, l.locktype), ', ')
                 FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation
                 WHERE l.pid = a.pid AND l.granted AND l.locktype = 'relation' AND c.relname NOT LIKE 'pg\\_%'), '')
     FROM pg_stat_activity a
     WHERE a.datname = ${literal(db)} AND a.pid <> pg_backend_pid() AND a.application_name <> ${literal(ours)};`,
    { session: ours, db, timeoutMs },
  );
  return rows.map(([pid, application, client, state, holds]) => ({
    pid: pid ?? "?",
    application: application ?? "-",
    client: client ?? "local",
    state: state ?? "-",
    holds: holds ?? "",
  }));
}

/** One line per session: `pid 4711 (psql, from 10.0.0.7, idle in transaction) holding AccessShareLock on notes`. */
export function describeSessions(sessions: readonly ForeignSession[]): string {
  return sessions
    .map((s) => `pid ${s.pid} (${s.application}, from ${s.client}, ${s.state})${s.holds ? ` holding ${s.holds}` : ""}`)
    .join("; ");
}

import { isIP } from "node:net";
import { PassThrough, Readable } from "node:stream";
import type { ExternalPostgres, ExternalRedis } from "../config/external.js";
import type { Kube } from "../kube/types.js";
import { POSTGRES_CLIENT_CONTAINER, REDIS_CLIENT_CONTAINER } from "../render/client-pod.js";

// Your own PostgreSQL and Redis, asked from inside the cluster: the clients run in a pod there
// (render/client-pod.ts), so what they find is what web and worker will find — the cluster's DNS,
// its egress, the database's firewall as the nodes meet it — not what this machine can reach.

export interface PostgresTarget {
  readonly pg: ExternalPostgres;
  readonly password: string;
  /** PEM CA bundle; empty: the image's trusted CAs (`sslrootcert=system`). */
  readonly ca: string;
}

export interface RedisTarget {
  readonly redis: ExternalRedis;
  readonly password: string;
  readonly ca: string;
}

/** Why a connection failed, as the user must fix it: each needs another remedy. */
export type ConnectFailure = "dns" | "refused" | "timeout" | "tls" | "password" | "login" | "other";

export interface Failed {
  readonly kind: ConnectFailure;
  /** The client's own words (its first error line). */
  readonly said: string;
}

export interface PostgresFacts {
  readonly failed?: Failed;
  readonly versionNum?: number;
  readonly version?: string;
  /** `vector`'s version the server offers, and the one installed in the database ("" when none). */
  readonly vectorAvailable?: string;
  readonly vectorInstalled?: string;
  /** A superuser or a managed service's admin role (rds_superuser, cloudsqlsuperuser, azure_pg_admin). */
  readonly mayCreateExtension?: boolean;
  readonly tls?: boolean;
}

export interface RedisFacts {
  readonly failed?: Failed;
}

const MARK = "mathison-probe";

/** A conninfo value, quoted as libpq reads it. */
function quoted(value: string | number): string {
  return `'${String(value).replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

export function conninfo(pg: ExternalPostgres, application: string): string {
  return [
    `host=${quoted(pg.host)}`,
    `port=${pg.port}`,
    `dbname=${quoted(pg.database)}`,
    `user=${quoted(pg.user)}`,
    `sslmode=${pg.sslMode}`,
    "connect_timeout=5",
    `application_name=${quoted(application)}`,
  ].join(" ");
}

/**
 * psql's script: the password is stdin's first line and the CA the rest (never argv, never a
 * file outside the pod's own temporary directory); the host is looked up first, so a name the
 * cluster's DNS does not know is said as such.
 */
const PSQL_SCRIPT = [
  "d=$(mktemp -d) || exit 90; trap 'rm -rf \"$d\"' EXIT",
  "IFS= read -r PGPASSWORD; export PGPASSWORD",
  'head -c "$4" > "$d/ca.crt"',
  `[ "$5" = address ] || getent hosts "$1" > /dev/null 2>&1 || { echo "${MARK} dns"; exit 0; }`,
  'root=""',
  'if [ -s "$d/ca.crt" ]; then root="sslrootcert=$d/ca.crt"; else case "$3" in verify-*) root="sslrootcert=system";; esac; fi',
  'psql -X -q -tA -v ON_ERROR_STOP=1 "$0 $root" -c "$2" 2>&1',
  `echo "${MARK} exit $?"`,
].join("\n");

const FACTS_SQL = [
  "SELECT current_setting('server_version_num'), current_setting('server_version'),",
  "coalesce((SELECT default_version FROM pg_available_extensions WHERE name = 'vector'), ''),",
  "coalesce((SELECT extversion FROM pg_extension WHERE extname = 'vector'), ''),",
  "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR EXISTS (SELECT 1 FROM pg_roles r",
  "WHERE r.rolname IN ('rds_superuser', 'cloudsqlsuperuser', 'azure_pg_admin') AND pg_has_role(current_user, r.oid, 'MEMBER')),",
  "coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
].join(" ");

async function execScript(
  kube: Kube,
  ns: string,
  pod: string,
  container: string,
  args: readonly string[],
  stdin: string,
  signal?: AbortSignal,
): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  const r = await kube.execStream(ns, pod, container, ["sh", "-c", args[0]!, ...args.slice(1)], {
    stdin: Readable.from([Buffer.from(stdin)]),
    stdout: out,
    ...(signal ? { signal } : {}),
  });
  return `${Buffer.concat(chunks).toString("utf8")}${r.stderr}`;
}

/**
 * The CA's length: `head -c` ends the read there, as some exec implementations never pass
 * stdin's end on (the password before it is one line, which `read` takes byte by byte).
 */
function caBytes(ca: string): string {
  return String(Buffer.byteLength(ca));
}

/** An IP address is not looked up (it may have no name to resolve back to); a name is, by the cluster's DNS. */
function lookup(host: string): string {
  return isIP(host) === 0 ? "name" : "address";
}

/** Runs `sql` (constant, no secret) as the target's user; the output lines, or why it could not connect. */
export async function psqlThrough(
  kube: Kube,
  ns: string,
  pod: string,
  target: PostgresTarget,
  sql: string,
  application: string,
  signal?: AbortSignal,
): Promise<{ readonly lines: string[] } | { readonly failed: Failed }> {
  const said = await execScript(
    kube,
    ns,
    pod,
    POSTGRES_CLIENT_CONTAINER,
    [
      PSQL_SCRIPT,
      conninfo(target.pg, application),
      target.pg.host,
      sql,
      target.pg.sslMode,
      caBytes(target.ca),
      lookup(target.pg.host),
    ],
    `${target.password}\n${target.ca}`,
    signal,
  );
  const lines = said.split("\n").filter((l) => l !== "");
  if (lines.includes(`${MARK} dns`))
    return { failed: { kind: "dns", said: `the cluster's DNS does not know ${target.pg.host}` } };
  const exit = lines.map((l) => /^mathison-probe exit (\d+)$/.exec(l)?.[1]).find((x) => x !== undefined);
  const body = lines.filter((l) => !l.startsWith(MARK));
  if (exit === "0") return { lines: body };
  const first = body.find((l) => /error|FATAL|failed|could not/i.test(l)) ?? body[0] ?? `psql exited ${exit ?? "?"}`;
  return { failed: { kind: postgresFailure(body.join("\n")), said: first.replace(/^psql: error: /, "") } };
}

/** What psql's message means for the user. */
export function postgresFailure(text: string): ConnectFailure {
  if (/could not translate host name|Name or service not known/i.test(text)) return "dns";
  if (/Connection refused/i.test(text)) return "refused";
  if (/timeout expired|timed out/i.test(text)) return "timeout";
  if (/no encryption|certificate|SSL|TLS|sslrootcert/i.test(text)) return "tls";
  if (/password authentication failed|no password supplied|SCRAM/i.test(text)) return "password";
  if (/does not exist|not permitted to log in|pg_hba\.conf|permission denied/i.test(text)) return "login";
  return "other";
}

export async function probePostgres(
  kube: Kube,
  ns: string,
  pod: string,
  target: PostgresTarget,
  signal?: AbortSignal,
): Promise<PostgresFacts> {
  const r = await psqlThrough(kube, ns, pod, target, FACTS_SQL, "mathison-install preflight", signal);
  if ("failed" in r) return { failed: r.failed };
  const [num, version, available, installed, mayCreate, tls] = (r.lines[0] ?? "").split("|");
  return {
    versionNum: Number(num),
    version: version ?? "",
    vectorAvailable: available ?? "",
    vectorInstalled: installed ?? "",
    mayCreateExtension: mayCreate === "t",
    tls: tls === "t",
  };
}

const REDIS_SCRIPT = [
  "d=$(mktemp -d) || exit 90; trap 'rm -rf \"$d\"' EXIT",
  "IFS= read -r REDISCLI_AUTH",
  'if [ -n "$REDISCLI_AUTH" ]; then export REDISCLI_AUTH; else unset REDISCLI_AUTH; fi',
  'head -c "$5" > "$d/ca.crt"',
  `[ "$6" = address ] || getent hosts "$0" > /dev/null 2>&1 || { echo "${MARK} dns"; exit 0; }`,
  "host=$0; port=$1; db=$2; tls=$3; user=$4",
  // What is left is the command: the options go before it.
  "shift 6",
  '[ -n "$user" ] && set -- --user "$user" "$@"',
  'if [ "$tls" = 1 ]; then if [ -s "$d/ca.crt" ]; then set -- --tls --cacert "$d/ca.crt" "$@"; else set -- --tls "$@"; fi; fi',
  'timeout 10 redis-cli -h "$host" -p "$port" -n "$db" "$@" 2>&1',
  `echo "${MARK} exit $?"`,
].join("\n");

/** Redis's AUTH (with the password, from stdin) and PING, through the client pod. */
export async function probeRedis(
  kube: Kube,
  ns: string,
  pod: string,
  target: RedisTarget,
  signal?: AbortSignal,
): Promise<RedisFacts> {
  const r = target.redis;
  const lines = await redisThrough(kube, ns, pod, target, ["PING"], signal);
  if (lines.includes(`${MARK} dns`))
    return { failed: { kind: "dns", said: `the cluster's DNS does not know ${r.host}` } };
  const { exit, body } = redisAnswer(lines);
  if (exit === "0" && body.includes("PONG")) return {};
  const first = body[0] ?? (exit === "124" ? "no answer within 10 s" : `redis-cli exited ${exit ?? "?"}`);
  return { failed: { kind: exit === "124" ? "timeout" : redisFailure(body.join("\n")), said: first } };
}

/**
 * One redis-cli command against your own Redis through the client pod, the password and CA on
 * stdin (REDISCLI_AUTH in the pod, never argv): its output lines, with the probe's marks.
 */
export async function redisThrough(
  kube: Kube,
  ns: string,
  pod: string,
  target: RedisTarget,
  command: readonly string[],
  signal?: AbortSignal,
): Promise<string[]> {
  const r = target.redis;
  const said = await execScript(
    kube,
    ns,
    pod,
    REDIS_CLIENT_CONTAINER,
    [
      REDIS_SCRIPT,
      r.host,
      String(r.port),
      String(r.db),
      r.tls ? "1" : "0",
      r.user ?? "",
      caBytes(target.ca),
      lookup(r.host),
      ...command,
    ],
    `${target.password}\n${target.ca}`,
    signal,
  );
  return said.split("\n").filter((l) => l !== "");
}

/** The probe's verdict of a command's output: its exit, and what it printed besides the marks. */
export function redisAnswer(lines: readonly string[]): { readonly exit: string | undefined; readonly body: string[] } {
  return {
    exit: lines.map((l) => /^mathison-probe exit (\d+)$/.exec(l)?.[1]).find((x) => x !== undefined),
    body: lines.filter((l) => !l.startsWith(MARK)),
  };
}

export function redisFailure(text: string): ConnectFailure {
  if (/Name or service not known|Could not resolve|nodename nor servname/i.test(text)) return "dns";
  if (/Connection refused/i.test(text)) return "refused";
  if (/timed out|timeout/i.test(text)) return "timeout";
  if (/NOAUTH|WRONGPASS|invalid password|invalid username-password|AUTH failed/i.test(text)) return "password";
  if (/SSL|TLS|certificate|Server closed the connection|Connection reset/i.test(text)) return "tls";
  return "other";
}

import { isIP } from "node:net";
import { hostName } from "./validate.js";

/**
 * A PostgreSQL or Redis the install does not run: a managed database (RDS, Cloud SQL, Azure
 * Database, Neon) or a managed Redis (ElastiCache, Memorystore). Given as a URL without its
 * password: argv is visible to every user of the machine, so the password comes from a file or
 * the environment, as every secret does.
 */
export const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;
export type SslMode = (typeof SSL_MODES)[number];

export interface ExternalPostgres {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly sslMode: SslMode;
}

export interface ExternalRedis {
  /** `rediss://`: TLS, verified against the given CA (or the image's trusted ones). */
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  /** An ACL user (Redis 6+); undefined: the default user, AUTH with the password alone. */
  readonly user: string | undefined;
}

export const POSTGRES_URL_ALLOWED =
  "postgres://USER@HOST[:PORT]/DATABASE, without a password (it goes in --postgres-password-file or MATHISON_POSTGRES_PASSWORD) and without a query (--postgres-sslmode, --postgres-ca-file)";
export const REDIS_URL_ALLOWED =
  "redis://[USER@]HOST[:PORT][/DB] or rediss://… for TLS, without a password (it goes in --redis-password-file or MATHISON_REDIS_PASSWORD)";

/** Host, port and path of a URL whose scheme is one of `schemes`, or why not. */
function parts(value: string, schemes: readonly string[]): URL | string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "not a URL";
  }
  if (!schemes.includes(url.protocol.slice(0, -1))) return `the scheme is ${url.protocol.slice(0, -1)}`;
  if (url.password !== "" || /:[^@/]*@/.test(value.slice(url.protocol.length + 2).split("/")[0]!))
    return "it holds a password";
  if (url.search !== "" || url.hash !== "") return "it has a query or fragment";
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "" || (isIP(host) === 0 && hostName(host.toLowerCase()) !== undefined)) return "the host is not valid";
  return url;
}

export function parsePostgresUrl(value: string, sslMode: SslMode = "verify-full"): ExternalPostgres | undefined {
  const url = parts(value, ["postgres", "postgresql"]);
  if (typeof url === "string") return undefined;
  const database = decodeURIComponent(url.pathname.slice(1));
  const user = decodeURIComponent(url.username);
  if (!user || !database || database.includes("/")) return undefined;
  return { host: hostOf(url), port: url.port ? Number(url.port) : 5432, database, user, sslMode };
}

export function parseRedisUrl(value: string): ExternalRedis | undefined {
  const url = parts(value, ["redis", "rediss"]);
  if (typeof url === "string") return undefined;
  const path = url.pathname.replace(/^\//, "");
  if (path !== "" && !/^(?:[0-9]|1[0-5])$/.test(path)) return undefined;
  return {
    tls: url.protocol === "rediss:",
    host: hostOf(url),
    port: url.port ? Number(url.port) : 6379,
    db: path === "" ? 0 : Number(path),
    user: url.username ? decodeURIComponent(url.username) : undefined,
  };
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
}

/** A URL as a message may show it: a password in it (refused) replaced by `***`. */
export function withoutPassword(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/i, "$1:***@");
}

/** The one-line reason a PostgreSQL URL is refused, or undefined when it is fine. */
export function postgresUrlProblem(value: string): string | undefined {
  if (value === "") return undefined;
  const url = parts(value, ["postgres", "postgresql"]);
  if (typeof url === "string") return `${POSTGRES_URL_ALLOWED}; ${url}`;
  return parsePostgresUrl(value) ? undefined : `${POSTGRES_URL_ALLOWED}; a user and a database are needed`;
}

export function redisUrlProblem(value: string): string | undefined {
  if (value === "") return undefined;
  const url = parts(value, ["redis", "rediss"]);
  if (typeof url === "string") return `${REDIS_URL_ALLOWED}; ${url}`;
  return parseRedisUrl(value) ? undefined : `${REDIS_URL_ALLOWED}; the database is a number 0–15`;
}

/** Where the pods find a CA certificate the user gave (mounted from the install's Secret). */
export const CA_MOUNT_DIR = "/etc/mathison/ca";
export const POSTGRES_CA_FILE = "postgres-ca.crt";
export const REDIS_CA_FILE = "redis-ca.crt";

const enc = encodeURIComponent;

function hostInUrl(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/**
 * DATABASE_URL for an external PostgreSQL, every part percent-encoded; `sslmode` and
 * `sslrootcert` as libpq and node-postgres read them.
 */
export function externalDatabaseUrl(pg: ExternalPostgres, password: string, hasCa: boolean): string {
  const query = [
    `sslmode=${pg.sslMode}`,
    ...(hasCa ? [`sslrootcert=${enc(`${CA_MOUNT_DIR}/${POSTGRES_CA_FILE}`)}`] : []),
  ];
  return `postgresql://${enc(pg.user)}:${enc(password)}@${hostInUrl(pg.host)}:${pg.port}/${enc(pg.database)}?${query.join("&")}`;
}

/** REDIS_URL for an external Redis, with its password (so it is kept in the Secret). */
export function externalRedisUrl(redis: ExternalRedis, password: string): string {
  const auth = password
    ? `${redis.user ? enc(redis.user) : ""}:${enc(password)}@`
    : redis.user
      ? `${enc(redis.user)}@`
      : "";
  return `${redis.tls ? "rediss" : "redis"}://${auth}${hostInUrl(redis.host)}:${redis.port}/${redis.db}`;
}

/** The URL as the user gave it, shaped back from its parts (no password): for messages and the record. */
export function describePostgres(pg: ExternalPostgres): string {
  return `${pg.user}@${hostInUrl(pg.host)}:${pg.port}/${pg.database}`;
}

export function describeRedis(redis: ExternalRedis): string {
  return `${redis.tls ? "rediss" : "redis"}://${redis.user ? `${redis.user}@` : ""}${hostInUrl(redis.host)}:${redis.port}/${redis.db}`;
}

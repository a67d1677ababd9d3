import { randomBytes } from "node:crypto";

// Only Node's CSPRNG. Base64url for the database password: it may appear in URLs and shells
// without quoting, and DATABASE_URL percent-encodes whatever a user supplies anyway.
export function generateAuthSecret(): string {
  return randomBytes(32).toString("base64");
}

export function generatePostgresPassword(): string {
  return randomBytes(32).toString("base64url");
}

export const POSTGRES_USER = "mathison";
export const POSTGRES_DB = "mathison";

export function postgresHost(namespace: string): string {
  return `postgres.${namespace}.svc.cluster.local`;
}

/** Always a valid URL: the password is percent-encoded, so `+`, `/`, `=`, `@` or `:` cannot break it. */
export function databaseUrl(namespace: string, password: string): string {
  return `postgresql://${POSTGRES_USER}:${encodeURIComponent(password)}@${postgresHost(namespace)}:5432/${POSTGRES_DB}`;
}

export function redisUrl(namespace: string): string {
  return `redis://redis.${namespace}.svc.cluster.local:6379`;
}

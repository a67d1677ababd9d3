/** The secrets a user gives (or the installer generates once): their keys in the config and in the Secret. */
export type SecretKey =
  | "authSecret"
  | "postgresPassword"
  | "anthropicApiKey"
  | "registryPassword"
  | "dockerConfig"
  | "redisPassword"
  | "postgresCaCert"
  | "redisCaCert";

/** The Secret's keys for the secrets a user gives; DATABASE_URL is derived. */
export const SECRET_DATA_KEYS: Readonly<Record<SecretKey, string>> = {
  authSecret: "AUTH_SECRET",
  postgresPassword: "POSTGRES_PASSWORD",
  anthropicApiKey: "ANTHROPIC_API_KEY",
  registryPassword: "REGISTRY_PASSWORD",
  dockerConfig: "DOCKER_CONFIG",
  redisPassword: "REDIS_PASSWORD",
  postgresCaCert: "POSTGRES_CA_CERT",
  redisCaCert: "REDIS_CA_CERT",
};

/**
 * A database password being rotated: set in the Secret under this key before PostgreSQL changes
 * it, and removed once the Secret's POSTGRES_PASSWORD is the new one. While it is there, a run
 * finishes the rotation.
 */
export const PENDING_PASSWORD_KEY = "POSTGRES_PASSWORD_NEXT";

/** `--rotate`: the secrets the installer can change on its own. */
export const ROTATABLE: Readonly<Record<string, SecretKey>> = {
  POSTGRES_PASSWORD: "postgresPassword",
  AUTH_SECRET: "authSecret",
};

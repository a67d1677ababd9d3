/** The secrets a user gives (or the installer generates once): their keys in the config and in the Secret. */
export type SecretKey = "authSecret" | "postgresPassword" | "anthropicApiKey";

/** The Secret's keys for the secrets a user gives; DATABASE_URL is derived. */
export const SECRET_DATA_KEYS: Readonly<Record<SecretKey, string>> = {
  authSecret: "AUTH_SECRET",
  postgresPassword: "POSTGRES_PASSWORD",
  anthropicApiKey: "ANTHROPIC_API_KEY",
};

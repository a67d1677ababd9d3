import { formatTls } from "../../config/resolve.js";
import type { FieldKey } from "../../config/fields.js";
import { describePostgres, describeRedis } from "../../config/external.js";
import type { InstallConfig } from "../../config/types.js";
import { authUrl } from "../../render/customise.js";

export type SecretOrigin = "given" | "kept" | "generated" | "replaced";

/** How a value relates to the existing install; absent on a first install. */
export type AnswerMark = "kept" | "changed" | "new";

const SECRET_TEXT: Record<SecretOrigin, string> = {
  given: "as given",
  kept: "kept from the existing install",
  generated: "generated",
  replaced: "replaced as asked",
};

/**
 * What will be installed, secrets masked with where they come from and, on an upgrade, each value
 * marked kept / changed / new against the install record. Pure, for the confirm step.
 */
export function summaryLines(
  config: InstallConfig,
  context: string,
  secretOrigin: (key: FieldKey) => SecretOrigin,
  mark: (keys: readonly FieldKey[]) => AnswerMark | undefined = () => undefined,
): string[] {
  const secret = (key: FieldKey, value: string) => (value ? `•••••••• (${SECRET_TEXT[secretOrigin(key)]})` : "(empty)");
  const rows: Row[] = [
    ["context", context, []],
    ["namespace", config.namespace, []],
    ["URL", authUrl(config), ["domain", "tls"]],
    ["ingress class", config.ingressClass, ["ingressClass"]],
    ["TLS", formatTls(config.tls), ["tls"]],
    ["web image", config.webImage, ["webImage", "tag"]],
    ["worker image", config.workerImage, ["workerImage", "tag"]],
    ["web replicas", String(config.webReplicas), ["webReplicas"]],
    ["LLM_PROVIDER", config.llmProvider, ["llmProvider"]],
    ["ANTHROPIC_API_KEY", secret("anthropicApiKey", config.secrets.anthropicApiKey), []],
    ["MATHISON_MODE", config.mathisonMode, ["mathisonMode"]],
    ["MATHISON_BASE_DOMAIN", config.baseDomain, ["baseDomain", "domain"]],
    ["AUTH_SECRET", secret("authSecret", config.secrets.authSecret), []],
    ["POSTGRES_PASSWORD", secret("postgresPassword", config.secrets.postgresPassword), []],
    ...databaseRows(config, secret),
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v, keys]) => {
    const m = keys.length > 0 ? mark(keys) : undefined;
    return `  ${k.padEnd(width)}${v}${m ? `  [${m}]` : ""}`;
  });
}

type Row = [string, string, readonly FieldKey[]];

/** Your own databases by their URLs; the volumes of those the install runs. */
function databaseRows(config: InstallConfig, secret: (key: FieldKey, value: string) => string): Row[] {
  const pg = config.externalPostgres;
  const redis = config.externalRedis;
  const rows: Row[] = [];
  if (pg) rows.push(["PostgreSQL", `your own, ${describePostgres(pg)} (sslmode ${pg.sslMode})`, ["postgresUrl"]]);
  if (redis) {
    rows.push(["Redis", `your own, ${describeRedis(redis)}`, ["redisUrl"]]);
    rows.push(["REDIS_PASSWORD", secret("redisPassword", config.secrets.redisPassword), []]);
  }
  const volumes = [
    ...(pg ? [] : [`PostgreSQL ${config.postgresStorage}`]),
    ...(redis ? [] : [`Redis ${config.redisStorage}`]),
  ];
  const where = config.storageClass ? ` (${config.storageClass})` : " (default class)";
  if (volumes.length > 0)
    rows.push(["storage", `${volumes.join(", ")}${where}`, ["postgresStorage", "redisStorage", "storageClass"]]);
  return rows;
}

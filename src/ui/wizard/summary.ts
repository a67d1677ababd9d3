import { formatTls } from "../../config/resolve.js";
import type { FieldKey } from "../../config/fields.js";
import type { InstallConfig } from "../../config/types.js";
import { authUrl } from "../../render/render.js";

export type SecretOrigin = "given" | "kept" | "generated";

/** What will be installed, secrets masked with where they come from. Pure, for the confirm step. */
export function summaryLines(config: InstallConfig, context: string, secretOrigin: (key: FieldKey) => SecretOrigin): string[] {
  const secret = (key: FieldKey, value: string) =>
    value ? `•••••••• (${{ given: "as given", kept: "kept from the existing install", generated: "generated" }[secretOrigin(key)]})` : "(empty)";
  const rows: [string, string][] = [
    ["context", context],
    ["namespace", config.namespace],
    ["URL", authUrl(config)],
    ["ingress class", config.ingressClass],
    ["TLS", formatTls(config.tls)],
    ["web image", config.webImage],
    ["worker image", config.workerImage],
    ["web replicas", String(config.webReplicas)],
    ["LLM_PROVIDER", config.llmProvider],
    ["ANTHROPIC_API_KEY", secret("anthropicApiKey", config.secrets.anthropicApiKey)],
    ["MATHISON_MODE", config.mathisonMode],
    ["MATHISON_BASE_DOMAIN", config.baseDomain],
    ["AUTH_SECRET", secret("authSecret", config.secrets.authSecret)],
    ["POSTGRES_PASSWORD", secret("postgresPassword", config.secrets.postgresPassword)],
    ["storage", `PostgreSQL ${config.postgresStorage}, Redis ${config.redisStorage}${config.storageClass ? ` (${config.storageClass})` : " (default class)"}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `  ${k.padEnd(width)}${v}`);
}

import type { Kube } from "../kube/types.js";
import { SECRET_NAME } from "../render/render.js";
import type { RawSource } from "./sources.js";
import type { ConfigProblem } from "./types.js";

const FROM_SECRET = { authSecret: "AUTH_SECRET", postgresPassword: "POSTGRES_PASSWORD", anthropicApiKey: "ANTHROPIC_API_KEY" } as const;

/**
 * The secrets of an existing install, so a re-run keeps them: PostgreSQL reads POSTGRES_PASSWORD
 * only when it initialises its data directory, and a new AUTH_SECRET would log every user out.
 */
export async function clusterRecordSource(kube: Kube, namespace: string): Promise<RawSource> {
  const secret = await kube.get({ apiVersion: "v1", kind: "Secret", name: SECRET_NAME, namespace });
  const data = (secret?.data ?? {}) as Record<string, string>;
  const source: RawSource = {};
  for (const [key, dataKey] of Object.entries(FROM_SECRET)) {
    const encoded = data[dataKey];
    if (!encoded) continue;
    source[key as keyof typeof FROM_SECRET] = { value: Buffer.from(encoded, "base64").toString("utf8"), field: `Secret ${namespace}/${SECRET_NAME} ${dataKey}` };
  }
  return source;
}

/** A supplied POSTGRES_PASSWORD that differs from the one the database was initialised with. */
export function passwordChangeProblem(supplied: { value: string; field: string } | undefined, record: RawSource): ConfigProblem | undefined {
  const existing = record.postgresPassword?.value;
  if (!supplied || existing === undefined || supplied.value === existing) return undefined;
  return {
    field: supplied.field,
    shownValue: `(hidden, ${supplied.value.length} characters)`,
    allowed: `the password the database was initialised with (kept in ${record.postgresPassword!.field}): PostgreSQL ignores a new POSTGRES_PASSWORD and the app would be locked out; omit it to keep the current one, or change it inside PostgreSQL first`,
  };
}

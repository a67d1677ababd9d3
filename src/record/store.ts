import { DATA_MIGRATED_BY_ANNOTATION } from "../facts/names.js";
import { PENDING_PASSWORD_KEY, SECRET_DATA_KEYS, type SecretKey } from "../config/secret-keys.js";
import { KubeApiError, type Kube } from "../kube/types.js";
import { decodeRecord, encodeRecord, type InstallRecord } from "./install-record.js";
import { type KubeObject, typed } from "../facts/objects.js";
import { CONFIGMAP_NAME, SECRET_NAME, RECORD_NAME, WEB_DEPLOYMENT_NAME } from "../facts/names.js";
import { gitopsManagerOf, type GitopsManaged } from "../facts/gitops.js";

/** What the kept data was last migrated by (tag, web and worker image answers) and the web image that ran the migration. */
export interface KeptData {
  readonly image: string;
  readonly answers: Readonly<Partial<Record<"tag" | "webImage" | "workerImage", string>>>;
}

/** What the cluster holds of an install before this run changes anything. */
export interface InstallState {
  readonly namespace: string;
  readonly namespaceExists: boolean;
  readonly record: InstallRecord;
  readonly recordVersion: string | undefined;
  /** The installed secrets, decoded; never printed. */
  readonly secrets: Readonly<Partial<Record<SecretKey, string>>>;
  readonly secretVersion: string | undefined;
  /** A database password whose rotation did not finish (the Secret's POSTGRES_PASSWORD_NEXT). */
  readonly pendingPassword?: string;
  /** Data an uninstall kept, and what last migrated it (absent while a record exists). */
  readonly keptData?: KeptData;
  /** A GitOps controller that applies the install, seen by its marks on the install's objects. */
  readonly gitops?: GitopsManaged;
}

export async function readInstallState(kube: Kube, namespace: string): Promise<InstallState> {
  const [ns, configMap, secret, gitops] = await Promise.all([
    // Credentials limited to the namespace may not read it: then it exists (they were given it), and the preflight names what else is missing.
    kube.get({ apiVersion: "v1", kind: "Namespace", name: namespace }).catch((err: unknown) => {
      if (err instanceof KubeApiError && err.status === 403)
        return { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } };
      throw err;
    }),
    kube.get({ apiVersion: "v1", kind: "ConfigMap", name: RECORD_NAME, namespace }),
    kube.get({ apiVersion: "v1", kind: "Secret", name: SECRET_NAME, namespace }),
    gitopsManagerIn(kube, namespace),
  ]);
  const data: Record<string, string | undefined> = (secret && typed(secret, "Secret").data) ?? {};
  const secrets: Partial<Record<SecretKey, string>> = {};
  for (const [key, dataKey] of Object.entries(SECRET_DATA_KEYS) as [SecretKey, string][]) {
    const encoded = data[dataKey];
    if (encoded) secrets[key] = Buffer.from(encoded, "base64").toString("utf8");
  }
  const keptData = keptDataOf(secret);
  const pending = data[PENDING_PASSWORD_KEY]
    ? Buffer.from(data[PENDING_PASSWORD_KEY], "base64").toString("utf8")
    : undefined;
  return {
    ...(keptData ? { keptData } : {}),
    ...(pending ? { pendingPassword: pending } : {}),
    ...(gitops ? { gitops } : {}),
    namespace,
    namespaceExists: ns !== undefined,
    record: decodeRecord(configMap),
    recordVersion: configMap?.metadata.resourceVersion,
    secrets,
    secretVersion: secret?.metadata.resourceVersion,
  };
}

/**
 * The controller whose marks the install's objects carry: its config (applied first of what a
 * controller syncs) or its web Deployment. Credentials that may not read them see none.
 */
async function gitopsManagerIn(kube: Kube, namespace: string): Promise<GitopsManaged | undefined> {
  const unreadable = (err: unknown) => {
    if (err instanceof KubeApiError && err.status === 403) return undefined;
    throw err;
  };
  const objects = await Promise.all([
    kube.get({ apiVersion: "v1", kind: "ConfigMap", name: CONFIGMAP_NAME, namespace }).catch(unreadable),
    kube.get({ apiVersion: "apps/v1", kind: "Deployment", name: WEB_DEPLOYMENT_NAME, namespace }).catch(unreadable),
  ]);
  return objects.flatMap((o) => (o ? [gitopsManagerOf(o)] : [])).find((g) => g !== undefined);
}

function keptDataOf(secret: KubeObject | undefined): KeptData | undefined {
  const text = secret?.metadata.annotations?.[DATA_MIGRATED_BY_ANNOTATION];
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text) as KeptData;
    return typeof parsed.image === "string" && typeof parsed.answers === "object" ? parsed : undefined;
  } catch {
    // Edited by hand into something else: as if absent.
    return undefined;
  }
}

/** Marks the Secret an uninstall keeps with what last migrated the data (a read and a PUT: the Secret's data stays as it is). */
export async function markKeptData(kube: Kube, state: InstallState, data: KeptData): Promise<void> {
  const secret = await kube.get({ apiVersion: "v1", kind: "Secret", name: SECRET_NAME, namespace: state.namespace });
  if (!secret) return;
  secret.metadata.annotations = {
    ...(secret.metadata.annotations ?? {}),
    [DATA_MIGRATED_BY_ANNOTATION]: JSON.stringify(data),
  };
  await kube.replace(secret);
}

/** Whether the record or the Secret changed since `before` was read (another run finished meanwhile). */
export async function installChangedSince(kube: Kube, before: InstallState): Promise<boolean> {
  const [configMap, secret] = await Promise.all([
    kube.get({ apiVersion: "v1", kind: "ConfigMap", name: RECORD_NAME, namespace: before.namespace }),
    kube.get({ apiVersion: "v1", kind: "Secret", name: SECRET_NAME, namespace: before.namespace }),
  ]);
  return (
    configMap?.metadata.resourceVersion !== before.recordVersion ||
    secret?.metadata.resourceVersion !== before.secretVersion
  );
}

export async function writeRecord(kube: Kube, namespace: string, record: InstallRecord): Promise<void> {
  await kube.apply(encodeRecord(record, namespace));
}

import { PENDING_PASSWORD_KEY } from "../config/secret-keys.js";
import { SECRET_NAME } from "../facts/names.js";
import type { Kube } from "../kube/types.js";
import { type KubeObject, typed } from "../facts/objects.js";
import { Readable } from "node:stream";
import { databaseNames, POSTGRES_CONTAINER, POSTGRES_POD } from "./backup.js";

/** A rotation step that failed: what was done, and that the next run finishes it. */
export class RotationError extends Error {}

/**
 * The new database password, kept in the Secret beside the current one before PostgreSQL changes:
 * a run stopped after `ALTER ROLE` still has it, and the next run finishes the rotation with it.
 */
export async function markPendingPassword(kube: Kube, namespace: string, password: string): Promise<KubeObject> {
  return editSecret(kube, namespace, (data) => {
    data[PENDING_PASSWORD_KEY] = Buffer.from(password).toString("base64");
  });
}

/** The rotation is over: the Secret's POSTGRES_PASSWORD is the new one. */
export async function clearPendingPassword(kube: Kube, namespace: string): Promise<void> {
  await editSecret(kube, namespace, (data) => {
    delete data[PENDING_PASSWORD_KEY];
  });
}

/** Read, change, write back with the version read: a concurrent edit is a conflict, not lost. */
async function editSecret(
  kube: Kube,
  namespace: string,
  change: (data: Record<string, string>) => void,
): Promise<KubeObject> {
  const secret = await kube.get({ apiVersion: "v1", kind: "Secret", name: SECRET_NAME, namespace });
  if (!secret) throw new RotationError(`Secret ${namespace}/${SECRET_NAME} does not exist`);
  const data = { ...typed(secret, "Secret").data };
  change(data);
  return kube.replace({ ...secret, data });
}

/**
 * `ALTER ROLE … PASSWORD` as the database's own user, through psql in the PostgreSQL pod. The
 * statement travels as psql's stdin, never in a command line (which the API server and the
 * kubelet may log); `head -c` ends the input, as some exec implementations never pass its end on.
 */
export async function setDatabasePassword(kube: Kube, namespace: string, password: string): Promise<void> {
  const { user, db } = await databaseNames(kube, namespace);
  const sql = Buffer.from(
    `ALTER ROLE "${user.replace(/"/g, '""')}" WITH PASSWORD '${password.replace(/'/g, "''")}';\n`,
  );
  const script = 'head -c "$0" | psql -q -v ON_ERROR_STOP=1 -U "$1" -d "$2"';
  const result = await kube.execStream(
    namespace,
    POSTGRES_POD,
    POSTGRES_CONTAINER,
    ["sh", "-c", script, String(sql.length), user, db],
    {
      stdin: Readable.from([sql]),
    },
  );
  if (result.exitCode !== 0) {
    // psql may quote the statement it refused: never the password.
    const said = result.stderr.split(password).join("<redacted>").trim().split("\n")[0];
    throw new RotationError(`psql exited ${result.exitCode}: ${said || "no message"}`);
  }
}

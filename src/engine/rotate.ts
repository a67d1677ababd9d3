import { PENDING_PASSWORD_KEY } from "../config/secret-keys.js";
import { SECRET_NAME } from "../facts/names.js";
import type { Kube } from "../kube/types.js";
import { type KubeObject, typed } from "../facts/objects.js";
import { databaseOf, endLeftSessions, ident, literal, querySql, SESSION_NAMES } from "./database.js";

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
 * `ALTER ROLE … PASSWORD` as the database's own user, through psql in the PostgreSQL pod (the
 * statement as psql's stdin, never in a command line), in a session named for the rotation and
 * bounded by `timeoutMs`: a rotation a killed run left running is ended first.
 */
export async function setDatabasePassword(
  kube: Kube,
  namespace: string,
  password: string,
  timeoutMs = 30_000,
): Promise<void> {
  const d = await databaseOf(kube, namespace);
  try {
    await endLeftSessions(d, [SESSION_NAMES.rotate], timeoutMs);
    await querySql(
      d,
      `ALTER ROLE ${ident(d.user)} WITH PASSWORD ${literal(password)};`,
      { session: SESSION_NAMES.rotate, timeoutMs },
      password,
    );
  } catch (err) {
    // psql may quote the statement it refused: querySql redacts the password.
    throw new RotationError((err as Error).message);
  }
}

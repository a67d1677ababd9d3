import type { InstallConfig } from "../config/types.js";
import type { Kube } from "../kube/types.js";
import { installedConfig } from "../record/installed-config.js";
import type { InstallState } from "../record/store.js";
import { databaseClientPod } from "../render/client-pod.js";
import { type Database, databaseOf } from "./database.js";
import { clientPodName, withClientPod } from "./client-pod.js";

/**
 * The install's database for `use`: the PostgreSQL it runs, or your own, reached through a client
 * pod in the namespace (created for `use`, deleted after it) with the install's own credentials.
 */
export function withDatabase<T>(
  kube: Kube,
  state: InstallState,
  use: (d: Database) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  return withDatabaseOf(kube, state.namespace, installedConfig(state), use, signal);
}

/** The database `config` names (the installed one, or the one a move goes to), for `use`. */
export async function withDatabaseOf<T>(
  kube: Kube,
  ns: string,
  config: InstallConfig,
  use: (d: Database) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const pg = config.externalPostgres;
  if (!pg) return use(await databaseOf(kube, ns));
  const s = config.secrets;
  return withClientPod(
    kube,
    databaseClientPod(config, ns, clientPodName()),
    (pod) =>
      use({
        kube,
        namespace: ns,
        pod,
        user: pg.user,
        db: pg.database,
        own: { host: pg.host, port: pg.port, sslMode: pg.sslMode, password: s.postgresPassword, ca: s.postgresCaCert },
      }),
    { timeoutMs: 90_000, ...(signal ? { signal } : {}) },
  );
}

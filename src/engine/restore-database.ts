import { createReadStream } from "node:fs";
import {
  type Database,
  describeSessions,
  endIdleBackups,
  endLeftSessions,
  ident,
  literal,
  maintenanceDb,
  databaseCommand,
  querySql,
  SESSION_NAMES,
  sessionsOn,
  SqlError,
} from "./database.js";
import { type SchemaSummary, rowsSqlFor, SCHEMA_SQL, schemaDifference, schemaOf } from "./schema-summary.js";

/**
 * A restore never touches the application's database until the dump is whole elsewhere: it goes
 * into DB_restoring, is checked, and one transaction renames DB to DB_replaced and DB_restoring to
 * DB — the commit point. Killed before it, the old data is as it was; after it, the dump is in
 * place. Either way a re-run clears what is left (both names) and restores again.
 */
export const restoringName = (db: string) => `${db}_restoring`;
export const replacedName = (db: string) => `${db}_replaced`;

const SESSION = SESSION_NAMES.restore;

/** A restore that cannot go on; the application's database is as it was unless `committed`. */
export class RestoreError extends Error {
  constructor(
    message: string,
    readonly committed = false,
    readonly blocked = false,
  ) {
    super(message);
  }
}

/**
 * Before anything: the sessions a killed restore left are ended (their pg_restore stops with
 * them) and the databases it left are dropped. Says what it found, one phrase each.
 */
export async function clearLeftovers(d: Database, timeoutMs: number): Promise<string[]> {
  // A verify's check session too: one a run left (its exec dropped) would hold the old database open.
  const ended = await endLeftSessions(d, [SESSION, SESSION_NAMES.verify], timeoutMs);
  const backups = await endIdleBackups(d, timeoutMs);
  const names = [restoringName(d.db), replacedName(d.db)];
  const left = (
    await querySql(
      d,
      `SELECT datname FROM pg_database WHERE datname IN (${names.map(literal).join(", ")}) ORDER BY 1;`,
      {
        session: SESSION,
        db: maintenanceDb(d),
        timeoutMs,
      },
    )
  ).map((r) => r[0]!);
  for (const name of left)
    await querySql(d, `DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE);`, {
      session: SESSION,
      db: maintenanceDb(d),
      timeoutMs,
    });
  return [
    ...(ended > 0 ? [`ended ${ended} session${ended === 1 ? "" : "s"} an earlier restore left running`] : []),
    ...(backups > 0 ? [`ended ${backups} idle session${backups === 1 ? "" : "s"} a killed backup left`] : []),
    ...left.map((name) =>
      name === restoringName(d.db)
        ? `dropped ${name}, which an earlier restore left half-done`
        : `dropped ${name}, the database an earlier restore replaced`,
    ),
  ];
}

/** A restore that stopped before the swap: its half-made database goes (best effort: the next run drops it otherwise). */
export async function discardRestoring(d: Database, timeoutMs: number): Promise<void> {
  await endLeftSessions(d, [SESSION], timeoutMs).catch(() => 0);
  await querySql(d, `DROP DATABASE IF EXISTS ${ident(restoringName(d.db))} WITH (FORCE);`, {
    session: SESSION,
    db: maintenanceDb(d),
    timeoutMs,
  }).catch(() => undefined);
}

export interface IntoNew {
  readonly database: Database;
  readonly file: string;
  readonly bytes: number;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

/** The dump into a new, empty database, in one transaction. */
export async function restoreIntoNew(r: IntoNew): Promise<void> {
  const d = r.database;
  const target = restoringName(d.db);
  await querySql(d, `CREATE DATABASE ${ident(target)} OWNER ${ident(d.user)} TEMPLATE template0;`, {
    session: SESSION,
    db: maintenanceDb(d),
    timeoutMs: r.timeoutMs,
  });
  const script =
    'head -c "$0" | PGAPPNAME="$1" PGOPTIONS="-c statement_timeout=$2 -c lock_timeout=$2" ' +
    'pg_restore --no-owner --single-transaction --exit-on-error -U "$3" -d "$4"';
  const run = databaseCommand(
    d,
    script,
    [String(r.bytes), SESSION, String(Math.round(r.timeoutMs)), d.user, target],
    createReadStream(r.file),
  );
  const result = await d.kube.execStream(d.namespace, d.pod, run.container, run.command, {
    ...(run.stdin ? { stdin: run.stdin } : {}),
    signal: r.signal,
  });
  if (result.exitCode !== 0) {
    const said = result.stderr.trim().split("\n").slice(-2).join(" ");
    throw new RestoreError(`pg_restore exited ${result.exitCode}: ${said || "no message"}`);
  }
}

/**
 * The new database against what the manifest says the dump holds: its tables, extensions and
 * each table's row count and checksum (older manifests record no rows: then the tables only).
 */
export async function checkRestored(
  d: Database,
  expected: SchemaSummary | undefined,
  timeoutMs: number,
): Promise<SchemaSummary> {
  // Counting and hashing every row costs a scan of the data: only when the manifest has counts to compare.
  const sql = `${SCHEMA_SQL}\n${rowsSqlFor(expected)}`;
  const found = schemaOf(await querySql(d, sql, { session: SESSION, db: restoringName(d.db), timeoutMs }));
  const difference = expected ? schemaDifference(expected, found) : "";
  if (difference) throw new RestoreError(`the restored database is not the dump's: ${difference}`);
  return found;
}

/**
 * The commit point: waits (until the deadline) for other clients to leave the application's
 * database, then swaps the two names in one transaction and drops the replaced one. Clients
 * still there at the deadline are named, and nothing is swapped.
 */
export async function swapIn(d: Database, deadline: number, signal: AbortSignal): Promise<void> {
  const admin = { session: SESSION, db: maintenanceDb(d) } as const;
  for (;;) {
    const left = Math.max(1000, deadline - Date.now());
    const others = await sessionsOn(d, d.db, SESSION, Math.min(left, 10_000));
    if (others.length === 0) {
      try {
        await querySql(
          d,
          `BEGIN; ALTER DATABASE ${ident(d.db)} RENAME TO ${ident(replacedName(d.db))}; ALTER DATABASE ${ident(restoringName(d.db))} RENAME TO ${ident(d.db)}; COMMIT;`,
          { ...admin, timeoutMs: Math.min(left, 10_000) },
        );
        break;
      } catch (err) {
        // A client that connected between the look and the rename: look again.
        if (!(err instanceof SqlError && err.timedOut)) throw err;
      }
    } else if (Date.now() >= deadline)
      throw new RestoreError(
        `other clients are connected to database ${d.db}: ${describeSessions(others)}; it cannot be replaced while they are`,
        false,
        true,
      );
    if (signal.aborted) throw new RestoreError("interrupted");
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await querySql(d, `DROP DATABASE IF EXISTS ${ident(replacedName(d.db))} WITH (FORCE);`, {
    ...admin,
    timeoutMs: Math.max(10_000, deadline - Date.now()),
  }).catch((err: Error) => {
    throw new RestoreError(`the dump is in place; dropping the replaced database failed: ${err.message}`, true);
  });
}

/**
 * A move's mark on the new database, before the swap (the rename carries it): a re-run that
 * finds it knows the data moved and must not move it again over what the app wrote since.
 */
export async function markRestoring(d: Database, mark: string, timeoutMs: number): Promise<void> {
  await querySql(d, `COMMENT ON DATABASE ${ident(restoringName(d.db))} IS ${literal(mark)};`, {
    session: SESSION,
    db: maintenanceDb(d),
    timeoutMs,
  });
}

/** What the application's database holds before a move fills it: its mark, and how many tables it has. */
export async function databaseContents(d: Database, timeoutMs: number): Promise<{ mark: string; tables: number }> {
  const [row] = await querySql(
    d,
    `SELECT coalesce(shobj_description(oid, 'pg_database'), ''), (SELECT count(*) FROM pg_catalog.pg_tables
      WHERE schemaname NOT IN ('pg_catalog', 'information_schema')) FROM pg_database WHERE datname = current_database();`,
    { session: SESSION, timeoutMs },
  );
  return { mark: row?.[0] ?? "", tables: Number(row?.[1] ?? 0) };
}

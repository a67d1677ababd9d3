import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { Readable, type Transform } from "node:stream";
import type { ExecStreamResult, Kube } from "../kube/types.js";
import { boundYoungGeneration } from "../base/young-generation.js";
import { fileProblem } from "../base/file-errors.js";
import { FileSink } from "../base/file-sink.js";
import { newestMigrationJob } from "./migration.js";
import { type Database, databaseCommand, databaseOf, podOf, SESSION_NAMES } from "./database.js";
import { FIELD_ROWS_SQL, SCHEMA_SQL, schemaOf, type SchemaSummary } from "./schema-summary.js";
import { REDIS_CONTAINER } from "../facts/names.js";
import { BackupError, type BackupManifest, MANIFEST_FORMAT } from "./backup-files.js";
import { WithoutEofMark } from "./redis-snapshot.js";

/** How DUMP_SQL says pg_dump failed: psql itself exits 0 after a `\\!` command. */
const DUMP_FAILED = "mathison-install: pg_dump exited";

export interface BackupInput {
  readonly namespace: string;
  /** The dump's path; `FILE.partial` while it is written, `FILE.json` its manifest. */
  readonly file: string;
  readonly installerVersion: string;
  readonly images: BackupManifest["images"];
  /** Where the dump is taken: your own PostgreSQL through a client pod; undefined: the install's own. */
  readonly database?: Database;
  /** Also Redis's data, as an RDB snapshot in `FILE.rdb`. */
  readonly includeRedis?: boolean;
  /** Told about every quarter second while the dump streams. */
  readonly onProgress?: (bytes: number, elapsedMs: number) => void;
  readonly signal?: AbortSignal;
}

/**
 * `pg_dump --format=custom` of the application's database (and with `includeRedis` an RDB
 * snapshot of Redis beside it, `FILE.rdb`), each streamed through `pods/exec` into a `.partial`
 * file (mode 0600) with its sha256 computed on the way, renamed only once its command exited 0
 * and the file is on disk; then the manifest. Memory does not grow with the data: the
 * connection pauses while the disk is behind.
 */
export async function takeBackup(kube: Kube, input: BackupInput): Promise<BackupManifest> {
  const { namespace, file } = input;
  const [database, redisPod, lastMigration] = await Promise.all([
    input.database ?? databaseOf(kube, namespace),
    input.includeRedis ? podOf(kube, namespace, "redis") : undefined,
    kube.list("batch/v1", "Job", namespace).then((l) => newestMigrationJob(l.items)?.metadata.name),
  ]);
  boundYoungGeneration();
  const started = Date.now();
  const progress = (done: number) => (bytes: number) => input.onProgress?.(done + bytes, Date.now() - started);
  // Every file is written as FILE.partial and renamed only once all of them are complete: a
  // backup is whole or absent, whatever fails (a full disk, a kill) and wherever.
  const partials = [file, `${file}.rdb`, `${file}.json`].map((f) => `${f}.partial`);
  try {
    const { user, db } = database;
    const run = databaseCommand(
      database,
      DUMP_SCRIPT,
      [String(Buffer.byteLength(DUMP_SQL)), SESSION_NAMES.backup, user, db],
      Readable.from([Buffer.from(DUMP_SQL)]),
    );
    const dump = await execToFile(kube, {
      namespace,
      pod: database.pod,
      container: run.container,
      command: run.command,
      ...(run.stdin ? { stdin: run.stdin } : {}),
      file,
      what: "pg_dump",
      onProgress: progress(0),
      signal: input.signal,
    });
    const redis = input.includeRedis
      ? await execToFile(kube, {
          namespace,
          pod: redisPod!,
          container: REDIS_CONTAINER,
          command: ["redis-cli", "--rdb", "-"],
          file: `${file}.rdb`,
          through: new WithoutEofMark(),
          what: "redis-cli --rdb",
          onProgress: progress(dump.bytes),
          signal: input.signal,
        })
      : undefined;
    input.onProgress?.(dump.bytes + (redis?.bytes ?? 0), Date.now() - started);
    const facts = factsOf(dump.stderr);
    const manifest: BackupManifest = {
      format: MANIFEST_FORMAT,
      installerVersion: input.installerVersion,
      createdAt: new Date(started).toISOString(),
      context: kube.contextName,
      namespace,
      database: { name: db, user, sizeBytes: facts.sizeBytes },
      ...(facts.schema ? { schema: facts.schema } : {}),
      images: input.images,
      lastMigration,
      file: basename(file),
      bytes: dump.bytes,
      sha256: dump.sha256,
      ...(redis ? { redis: { file: basename(`${file}.rdb`), bytes: redis.bytes, sha256: redis.sha256 } } : {}),
    };
    writeFileSync(`${file}.json.partial`, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600, flush: true });
    // The commit: the data first, the manifest last (restore takes a dump only with its manifest).
    renameSync(`${file}.partial`, file);
    if (redis) renameSync(`${file}.rdb.partial`, `${file}.rdb`);
    renameSync(`${file}.json.partial`, `${file}.json`);
    return manifest;
  } catch (err) {
    for (const partial of partials) rmSync(partial, { force: true });
    throw asBackupError(err, file);
  }
}

interface Streamed {
  readonly bytes: number;
  readonly sha256: string;
  /** What the command said besides its output (the dump's facts, see DUMP_SQL). */
  readonly stderr: string;
}

interface ExecToFile {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly command: readonly string[];
  readonly file: string;
  /** How errors name the command: `pg_dump exited 1: …`. */
  readonly what: string;
  readonly onProgress: (bytes: number) => void;
  readonly signal: AbortSignal | undefined;
  /** What the output passes through before it is hashed and written. */
  readonly through?: Transform;
  /** The command's input (a password only as engine/database.ts's databaseCommand puts it). */
  readonly stdin?: Readable;
}

/** A command's stdout, streamed through exec into FILE.partial (on disk once it exited 0). */
async function execToFile(kube: Kube, x: ExecToFile): Promise<Streamed> {
  const partial = `${x.file}.partial`;
  rmSync(partial, { force: true });
  const fd = openPartial(partial);
  const disk = new FileSink(fd);
  const stop = new AbortController();
  let diskError: Error | undefined;
  disk.on("error", (err) => {
    diskError = err;
    stop.abort(err);
  });
  // A signal that fired before this step began fires no listener: it is read first.
  if (x.signal?.aborted) stop.abort(x.signal.reason);
  else x.signal?.addEventListener("abort", () => stop.abort(x.signal?.reason), { once: true });
  const sink = x.through ?? disk;
  if (x.through) x.through.pipe(disk);
  const ticker = setInterval(() => x.onProgress(disk.bytes), 250);
  let stderr = "";
  try {
    const result = await kube.execStream(x.namespace, x.pod, x.container, x.command, {
      stdout: sink,
      ...(x.stdin === undefined ? {} : { stdin: x.stdin }),
      signal: stop.signal,
    });
    sink.end();
    await new Promise<void>((resolve, reject) => {
      if (diskError) return reject(diskError);
      disk.once("finish", resolve);
      disk.once("error", reject);
    });
    stderr = result.stderr;
    const failed = failureOf(x.what, result);
    if (failed) throw new BackupError(failed);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(partial, { force: true });
    throw asBackupError(diskError ?? err, x.file);
  } finally {
    clearInterval(ticker);
  }
  closeSync(fd);
  // Left as FILE.partial: takeBackup renames every file once all are complete.
  return { bytes: disk.bytes, sha256: disk.digest(), stderr };
}

function openPartial(path: string): number {
  try {
    return openSync(path, "wx", 0o600);
  } catch (err) {
    throw new BackupError(`cannot write ${path}: ${(err as Error).message}`);
  }
}

function asBackupError(err: unknown, file: string): Error {
  if (err instanceof BackupError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOSPC") return new BackupError(`the disk holding ${file} is full; the partial files were removed`);
  if (code === "EACCES" || code === "EROFS" || code === "EPERM" || code === "EIO" || code === "EDQUOT")
    return new BackupError(`${file} ${fileProblem(err)}; the partial files were removed`);
  return new BackupError(`the dump stopped: ${(err as Error).message}; the partial files were removed`);
}

/**
 * pg_dump writes its output a few KiB at a time, and each write became a message of its own
 * through the kubelet, the API server and the installer: 14 000 messages for a 124 MB dump, and
 * those three spent more CPU on them than pg_dump did on its data. `dd` gathers 1 MiB before
 * each write, so the pipe is read in full 32 KiB messages (a quarter as many). An image without
 * GNU dd (or its `fullblock`) falls back to `cat`, which has read nothing by then.
 */
export const IN_BIG_WRITES = "{ dd bs=1M iflag=fullblock status=none 2>/dev/null || cat; }";

/**
 * The dump and what the manifest records of the database, in one snapshot: a psql session opens
 * a REPEATABLE READ transaction, exports its snapshot, writes the database's size, tables,
 * extensions and each table's rows (count, checksum) to stderr, then runs pg_dump on that same
 * snapshot. So the counts are exactly what the dump holds, however busy the database is.
 */
const DUMP_SQL = [
  "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;",
  "SELECT pg_export_snapshot() AS snapshot \\gset",
  "\\setenv MATHISON_SNAPSHOT :snapshot",
  "\\o |cat >&2",
  "SELECT 'size', pg_database_size(current_database())::text;",
  SCHEMA_SQL,
  FIELD_ROWS_SQL,
  "\\o",
  `\\! { pg_dump --snapshot="$MATHISON_SNAPSHOT" --format=custom --compress=1 || echo "${DUMP_FAILED} $?" >&2; } | ${IN_BIG_WRITES}`,
  "COMMIT;",
  "",
].join("\n");
export const DUMP_SCRIPT =
  'head -c "$0" | PGAPPNAME="$1" PGUSER="$2" PGDATABASE="$3" psql -X -q -tA -v ON_ERROR_STOP=1';

/** The facts DUMP_SQL wrote on stderr. */
export function factsOf(stderr: string): { sizeBytes: number | undefined; schema: SchemaSummary | undefined } {
  const rows = stderr
    .split("\n")
    .filter((l) => /^(size|table|extension|rows|fieldRows)\|/.test(l))
    .map((l) => l.split("|"));
  const size = Number(rows.find((r) => r[0] === "size")?.[1]);
  // The size comes first: without it the exec kept only stderr's tail (a schema of thousands of
  // tables), and a partial list would refuse a good restore. Then the manifest records none.
  if (!Number.isFinite(size)) return { sizeBytes: undefined, schema: undefined };
  return { sizeBytes: size, schema: schemaOf(rows) };
}

/** Why a streamed command failed, in a line; "" when it did not (pg_dump's own status comes as a mark, psql's is the exit code). */
export function failureOf(what: string, result: ExecStreamResult): string {
  const lines = result.stderr.split("\n");
  const said = lines.find((l) => /^(pg_dump|psql|ERROR|FATAL|redis-cli|sh):?/i.test(l.trim())) ?? "";
  const mark = lines.find((l) => l.startsWith(DUMP_FAILED));
  if (mark) return `pg_dump exited ${mark.slice(DUMP_FAILED.length).trim()}: ${said || "no message"}`;
  if (result.exitCode !== 0)
    return `${what} exited ${result.exitCode}: ${said || firstLine(result.stderr) || "no message"}`;
  return "";
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0] ?? "";
}

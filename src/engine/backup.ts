import { createHash } from "node:crypto";
import {
  closeSync,
  createReadStream,
  createWriteStream,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import { PassThrough, Transform } from "node:stream";
import type { ExecStreamResult, Kube } from "../kube/types.js";
import { boundYoungGeneration } from "../base/young-generation.js";
import { fileProblem } from "../base/file-errors.js";
import { newestMigrationJob } from "./migration.js";
import {
  type Database,
  databaseNames,
  POSTGRES_CONTAINER,
  POSTGRES_POD,
  querySql,
  SCHEMA_SQL,
  schemaOf,
  type SchemaSummary,
  SESSION_NAMES,
} from "./database.js";
import { REDIS_CONTAINER, REDIS_POD } from "../facts/names.js";

/** How many snapshots taken before migrations are kept per install; older ones are deleted. */
export const SNAPSHOTS_KEPT = 5;
const MANIFEST_FORMAT = "mathison-install-backup/1";

/** What a backup holds and where it came from: written beside the dump as FILE.json. */
export interface BackupManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly installerVersion: string;
  readonly createdAt: string;
  readonly context: string;
  readonly namespace: string;
  readonly database: { readonly name: string; readonly user: string; readonly sizeBytes: number | undefined };
  readonly images: { readonly web?: string | undefined; readonly worker?: string | undefined };
  /** The tables and extensions the database held just before the dump: a restore checks its result against them. */
  readonly schema?: SchemaSummary;
  /** The newest migration Job when the dump was taken: the schema the data is at. */
  readonly lastMigration: string | undefined;
  /** The dump's file name (beside this manifest), its size and sha256. */
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  /** `backup --include-redis`: Redis's RDB snapshot (BullMQ's queued jobs) beside the dump. */
  readonly redis?: { readonly file: string; readonly bytes: number; readonly sha256: string };
}

export interface BackupInput {
  readonly namespace: string;
  /** The dump's path; `FILE.partial` while it is written, `FILE.json` its manifest. */
  readonly file: string;
  readonly installerVersion: string;
  readonly images: BackupManifest["images"];
  /** Also Redis's data, as an RDB snapshot in `FILE.rdb`. */
  readonly includeRedis?: boolean;
  /** Told about every quarter second while the dump streams. */
  readonly onProgress?: (bytes: number, elapsedMs: number) => void;
  readonly signal?: AbortSignal;
}

/** A backup that could not be made; nothing is left behind but what was there before. */
export class BackupError extends Error {}

/**
 * `pg_dump --format=custom` of the application's database (and with `includeRedis` an RDB
 * snapshot of Redis beside it, `FILE.rdb`), each streamed through `pods/exec` into a `.partial`
 * file (mode 0600) with its sha256 computed on the way, renamed only once its command exited 0
 * and the file is on disk; then the manifest. Memory does not grow with the data: the
 * connection pauses while the disk is behind.
 */
export async function takeBackup(kube: Kube, input: BackupInput): Promise<BackupManifest> {
  const { namespace, file } = input;
  const { user, db } = await databaseNames(kube, namespace);
  const [{ sizeBytes, schema }, lastMigration] = await Promise.all([
    databaseFacts({ kube, namespace, user, db }),
    kube.list("batch/v1", "Job", namespace).then((l) => newestMigrationJob(l.items)?.metadata.name),
  ]);
  boundYoungGeneration();
  const started = Date.now();
  const progress = (done: number) => (bytes: number) => input.onProgress?.(done + bytes, Date.now() - started);
  // Every file is written as FILE.partial and renamed only once all of them are complete: a
  // backup is whole or absent, whatever fails (a full disk, a kill) and wherever.
  const partials = [file, `${file}.rdb`, `${file}.json`].map((f) => `${f}.partial`);
  try {
    const dump = await execToFile(kube, {
      namespace,
      pod: POSTGRES_POD,
      container: POSTGRES_CONTAINER,
      command: ["pg_dump", "--format=custom", "--compress=1", "-U", user, "-d", db],
      file,
      what: "pg_dump",
      onProgress: progress(0),
      signal: input.signal,
    });
    const redis = input.includeRedis
      ? await execToFile(kube, {
          namespace,
          pod: REDIS_POD,
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
    const manifest: BackupManifest = {
      format: MANIFEST_FORMAT,
      installerVersion: input.installerVersion,
      createdAt: new Date(started).toISOString(),
      context: kube.contextName,
      namespace,
      database: { name: db, user, sizeBytes },
      ...(schema ? { schema } : {}),
      images: input.images,
      lastMigration,
      file: basename(file),
      ...dump,
      ...(redis ? { redis: { file: basename(`${file}.rdb`), ...redis } } : {}),
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
}

/**
 * `redis-cli --rdb -` (Redis 7.0 at least) ends its output with the 40-hex-digit mark that ended
 * the replication stream; written to a file it would truncate it, to stdout it cannot. The RDB
 * proper ends with the EOF opcode (0xFF) and an 8-byte checksum: a stream whose last 49 bytes
 * are that and 40 hex digits loses the 40. Anything else passes unchanged.
 */
export class WithoutEofMark extends Transform {
  private held = Buffer.alloc(0);

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    const all = Buffer.concat([this.held, chunk]);
    const keep = Math.max(0, all.length - EOF_TAIL);
    if (keep > 0) this.push(all.subarray(0, keep));
    this.held = all.subarray(keep);
    done();
  }

  override _flush(done: () => void): void {
    const marked =
      this.held.length === EOF_TAIL &&
      this.held[0] === 0xff &&
      /^[0-9a-f]{40}$/.test(this.held.subarray(9).toString("latin1"));
    this.push(marked ? this.held.subarray(0, 9) : this.held);
    done();
  }
}

/** 0xFF, the 8-byte checksum, the 40-byte mark. */
const EOF_TAIL = 49;

/** A command's stdout, streamed through exec into FILE.partial (on disk once it exited 0). */
async function execToFile(kube: Kube, x: ExecToFile): Promise<Streamed> {
  const partial = `${x.file}.partial`;
  rmSync(partial, { force: true });
  const fd = openPartial(partial);
  const hash = createHash("sha256");
  let bytes = 0;
  const sink = x.through ?? new PassThrough({ highWaterMark: 256 * 1024 });
  const disk = createWriteStream("", { fd, autoClose: false });
  const stop = new AbortController();
  let diskError: Error | undefined;
  disk.on("error", (err) => {
    diskError = err;
    stop.abort(err);
  });
  // A signal that fired before this step began fires no listener: it is read first.
  if (x.signal?.aborted) stop.abort(x.signal.reason);
  else x.signal?.addEventListener("abort", () => stop.abort(x.signal?.reason), { once: true });
  sink.on("data", (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  sink.pipe(disk);
  const ticker = setInterval(() => x.onProgress(bytes), 250);
  try {
    const result = await kube.execStream(x.namespace, x.pod, x.container, x.command, {
      stdout: sink,
      signal: stop.signal,
    });
    sink.end();
    await new Promise<void>((resolve, reject) => {
      if (diskError) return reject(diskError);
      disk.once("finish", resolve);
      disk.once("error", reject);
    });
    if (result.exitCode !== 0)
      throw new BackupError(`${x.what} exited ${result.exitCode}: ${firstLine(result.stderr) || "no message"}`);
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
  return { bytes, sha256: hash.digest("hex") };
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

/** The database's size and what it holds, read just before the dump; unknown (not fatal) when psql fails. */
async function databaseFacts(
  d: Database,
): Promise<{ sizeBytes: number | undefined; schema: SchemaSummary | undefined }> {
  try {
    const rows = await querySql(
      d,
      `SELECT 'size', pg_database_size(current_database())::text UNION ALL ${SCHEMA_SQL}`,
      {
        session: SESSION_NAMES.backup,
        timeoutMs: 30_000,
      },
    );
    const size = Number(rows.find((r) => r[0] === "size")?.[1]);
    return { sizeBytes: Number.isFinite(size) ? size : undefined, schema: schemaOf(rows) };
  } catch {
    return { sizeBytes: undefined, schema: undefined };
  }
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0] ?? "";
}

/** Where snapshots before migrations go: `$XDG_DATA_HOME/mathison-install/backups/<context>/<namespace>/`. */
export function snapshotDir(
  env: Readonly<Record<string, string | undefined>>,
  context: string,
  namespace: string,
): string {
  const data = env["XDG_DATA_HOME"] || join(env["HOME"] || homedir(), ".local", "share");
  return join(data, "mathison-install", "backups", safeName(context), namespace);
}

/** A file name that sorts by time: `mathison-20261127T113000Z.dump`. */
export function backupFileName(namespace: string, at: Date = new Date()): string {
  return `${namespace}-${at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}.dump`;
}

/** Deletes all but the newest `kept` dumps (and their manifests) in `dir`. */
export function pruneSnapshots(dir: string, kept: number = SNAPSHOTS_KEPT): string[] {
  const dumps = readdirSync(dir)
    .filter((f) => f.endsWith(".dump"))
    .sort();
  const old = dumps.slice(0, Math.max(0, dumps.length - kept));
  for (const f of old) {
    rmSync(join(dir, f), { force: true });
    rmSync(join(dir, `${f}.json`), { force: true });
    rmSync(join(dir, `${f}.rdb`), { force: true });
  }
  return old;
}

function safeName(context: string): string {
  return context.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** Reads a backup's manifest and checks the dump against it: its size and sha256. */
export async function checkBackup(file: string): Promise<BackupManifest> {
  try {
    statSync(file);
  } catch (err) {
    throw new BackupError(`the dump ${file} ${fileProblem(err)}`);
  }
  let text: string;
  try {
    text = readFileSync(`${file}.json`, "utf8");
  } catch (err) {
    throw new BackupError(
      `its manifest ${file}.json ${fileProblem(err)}: a backup is the dump and its manifest beside it`,
    );
  }
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(text) as BackupManifest;
  } catch {
    throw new BackupError(`its manifest ${file}.json is not JSON: a backup is the dump and its manifest beside it`);
  }
  if (manifest.format !== MANIFEST_FORMAT)
    throw new BackupError(`${file}.json is not a mathison-install backup manifest`);
  await checkFile(file, manifest);
  if (manifest.redis) await checkFile(join(dirname(file), manifest.redis.file), manifest.redis);
  return manifest;
}

/** A file of a backup against what its manifest says of it: size, then sha256. */
async function checkFile(file: string, expected: { readonly bytes: number; readonly sha256: string }): Promise<void> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw new BackupError(`${file}, which the manifest names, ${fileProblem(err)}`);
  }
  if (size !== expected.bytes)
    throw new BackupError(
      `${file} has ${size} bytes, its manifest says ${expected.bytes}: it is damaged or not this backup`,
    );
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const sum = hash.digest("hex");
  if (sum !== expected.sha256)
    throw new BackupError(`${file}'s sha256 is ${sum}, its manifest says ${expected.sha256}: it is damaged`);
}

/**
 * A backup's Redis snapshot put back, the counterpart of its `redis-cli --rdb`: streamed into
 * `pod` (one holding Redis's volume while Redis is stopped) as the base of a fresh append-only
 * directory that replaces Redis's old one; Redis loads it when it starts. `head -c` ends stdin at
 * the snapshot's size.
 */
export function putRedisSnapshot(
  kube: Kube,
  namespace: string,
  pod: string,
  snapshot: { readonly file: string; readonly bytes: number; readonly signal: AbortSignal },
): Promise<ExecStreamResult> {
  // REDIS_DATA_DIR is unset in the pod (/data); the test cluster's exec, which runs on its host, names its Redis's directory.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion
  const dataDir = 'd="${REDIS_DATA_DIR:-/data}"';
  const script =
    `set -e; ${dataDir}; ` +
    'n="$d/appendonlydir.restore"; rm -rf "$n"; mkdir "$n"; ' +
    'head -c "$0" > "$n/appendonly.aof.1.base.rdb"; ' +
    'printf "file appendonly.aof.1.base.rdb seq 1 type b\\n" > "$n/appendonly.aof.manifest"; ' +
    'rm -rf "$d/appendonlydir" "$d/dump.rdb"; mv "$n" "$d/appendonlydir"';
  return kube.execStream(namespace, pod, REDIS_CONTAINER, ["sh", "-c", script, String(snapshot.bytes)], {
    stdin: createReadStream(snapshot.file),
    signal: snapshot.signal,
  });
}

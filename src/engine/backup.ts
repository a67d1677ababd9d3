import { typed } from "../facts/objects.js";
import { createHash } from "node:crypto";
import {
  closeSync,
  createReadStream,
  createWriteStream,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { PassThrough } from "node:stream";
import { CONFIGMAP_NAME } from "../facts/names.js";
import type { Kube } from "../kube/types.js";
import { newestMigrationJob } from "./migration.js";

/** Where PostgreSQL runs: the StatefulSet's one pod and its container. */
export const POSTGRES_POD = "postgres-0";
export const POSTGRES_CONTAINER = "postgres";
/** How many snapshots taken before migrations are kept per install; older ones are deleted. */
export const SNAPSHOTS_KEPT = 5;
const MANIFEST_FORMAT = "mathison-install-backup/1";

/** The application's database and user, as the install's ConfigMap names them. */
export async function databaseNames(kube: Kube, namespace: string): Promise<{ user: string; db: string }> {
  const cm = await kube.get({ apiVersion: "v1", kind: "ConfigMap", name: CONFIGMAP_NAME, namespace });
  return {
    user: (cm && typed(cm, "ConfigMap").data?.["POSTGRES_USER"]) || "mathison",
    db: (cm && typed(cm, "ConfigMap").data?.["POSTGRES_DB"]) || "mathison",
  };
}

/** What a backup holds and where it came from: written beside the dump as FILE.json. */
export interface BackupManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly installerVersion: string;
  readonly createdAt: string;
  readonly context: string;
  readonly namespace: string;
  readonly database: { readonly name: string; readonly user: string; readonly sizeBytes: number | undefined };
  readonly images: { readonly web?: string | undefined; readonly worker?: string | undefined };
  /** The newest migration Job when the dump was taken: the schema the data is at. */
  readonly lastMigration: string | undefined;
  /** The dump's file name (beside this manifest), its size and sha256. */
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface BackupInput {
  readonly namespace: string;
  /** The dump's path; `FILE.partial` while it is written, `FILE.json` its manifest. */
  readonly file: string;
  readonly installerVersion: string;
  readonly images: BackupManifest["images"];
  /** Told about every quarter second while the dump streams. */
  readonly onProgress?: (bytes: number, elapsedMs: number) => void;
  readonly signal?: AbortSignal;
}

/** A backup that could not be made; nothing is left behind but what was there before. */
export class BackupError extends Error {}

/**
 * `pg_dump --format=custom` of the application's database, streamed through `pods/exec` into
 * FILE.partial (mode 0600) with its sha256 computed on the way, renamed to FILE only once
 * pg_dump exited 0 and the file is on disk; then the manifest. Memory does not grow with the
 * database: the connection pauses while the disk is behind.
 */
export async function takeBackup(kube: Kube, input: BackupInput): Promise<BackupManifest> {
  const { namespace, file } = input;
  const { user, db } = await databaseNames(kube, namespace);
  const [sizeBytes, lastMigration] = await Promise.all([
    databaseSize(kube, namespace, user, db),
    kube.list("batch/v1", "Job", namespace).then((l) => newestMigrationJob(l.items)?.metadata.name),
  ]);
  const partial = `${file}.partial`;
  rmSync(partial, { force: true });
  const fd = openPartial(partial);
  const started = Date.now();
  const hash = createHash("sha256");
  let bytes = 0;
  const sink = new PassThrough({ highWaterMark: 256 * 1024 });
  const disk = createWriteStream("", { fd, autoClose: false });
  const stop = new AbortController();
  let diskError: Error | undefined;
  disk.on("error", (err) => {
    diskError = err;
    stop.abort(err);
  });
  input.signal?.addEventListener("abort", () => stop.abort(input.signal?.reason), { once: true });
  sink.on("data", (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  sink.pipe(disk);
  const ticker = setInterval(() => input.onProgress?.(bytes, Date.now() - started), 250);
  try {
    const result = await kube.execStream(
      namespace,
      POSTGRES_POD,
      POSTGRES_CONTAINER,
      ["pg_dump", "--format=custom", "--compress=1", "-U", user, "-d", db],
      {
        stdout: sink,
        signal: stop.signal,
      },
    );
    sink.end();
    await new Promise<void>((resolve, reject) => {
      if (diskError) return reject(diskError);
      disk.once("finish", resolve);
      disk.once("error", reject);
    });
    if (result.exitCode !== 0)
      throw new BackupError(`pg_dump exited ${result.exitCode}: ${firstLine(result.stderr) || "no message"}`);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(partial, { force: true });
    throw asBackupError(diskError ?? err, file);
  } finally {
    clearInterval(ticker);
  }
  closeSync(fd);
  renameSync(partial, file);
  input.onProgress?.(bytes, Date.now() - started);
  const manifest: BackupManifest = {
    format: MANIFEST_FORMAT,
    installerVersion: input.installerVersion,
    createdAt: new Date(started).toISOString(),
    context: kube.contextName,
    namespace,
    database: { name: db, user, sizeBytes },
    images: input.images,
    lastMigration,
    file: basename(file),
    bytes,
    sha256: hash.digest("hex"),
  };
  writeFileSync(`${file}.json`, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return manifest;
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
  if (code === "ENOSPC") return new BackupError(`the disk holding ${file} is full; the partial file was removed`);
  if (code === "EACCES" || code === "EROFS") return new BackupError(`cannot write ${file}: ${code}`);
  return new BackupError(`the dump stopped: ${(err as Error).message}; the partial file was removed`);
}

async function databaseSize(kube: Kube, namespace: string, user: string, db: string): Promise<number | undefined> {
  const r = await kube.exec(namespace, POSTGRES_POD, POSTGRES_CONTAINER, [
    "psql",
    "-U",
    user,
    "-d",
    db,
    "-tAc",
    "SELECT pg_database_size(current_database())",
  ]);
  const n = Number(r.stdout.trim());
  return r.exitCode === 0 && Number.isFinite(n) ? n : undefined;
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
  }
  return old;
}

function safeName(context: string): string {
  return context.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** Reads a backup's manifest and checks the dump against it: its size and sha256. */
export async function checkBackup(file: string): Promise<BackupManifest> {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await readFile(`${file}.json`, "utf8")) as BackupManifest;
  } catch (err) {
    throw new BackupError(`${file}.json: ${(err as Error).message}; a backup is the dump and its manifest beside it`);
  }
  if (manifest.format !== MANIFEST_FORMAT)
    throw new BackupError(`${file}.json is not a mathison-install backup manifest`);
  const size = statSync(file).size;
  if (size !== manifest.bytes)
    throw new BackupError(
      `${file} has ${size} bytes, its manifest says ${manifest.bytes}: it is damaged or not this backup`,
    );
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const sum = hash.digest("hex");
  if (sum !== manifest.sha256)
    throw new BackupError(`${file}'s sha256 is ${sum}, its manifest says ${manifest.sha256}: it is damaged`);
  return manifest;
}

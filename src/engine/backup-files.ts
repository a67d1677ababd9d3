import { createHash } from "node:crypto";
import { createReadStream, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileProblem } from "../base/file-errors.js";
import type { SchemaSummary } from "./schema-summary.js";

// The files of a backup: where snapshots go and how they are named, the manifest beside each dump,
// and the check of a dump against it before a restore trusts it.

/** How many snapshots taken before migrations are kept per install; older ones are deleted. */
export const SNAPSHOTS_KEPT = 5;

export const MANIFEST_FORMAT = "mathison-install-backup/1";

/** What a backup holds and where it came from: written beside the dump as FILE.json. */
export interface BackupManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly installerVersion: string;
  readonly createdAt: string;
  readonly context: string;
  readonly namespace: string;
  readonly database: { readonly name: string; readonly user: string; readonly sizeBytes: number | undefined };
  readonly images: { readonly web?: string | undefined; readonly worker?: string | undefined };
  /** What the database held in the dump's snapshot (tables, extensions, each table's rows): a restore checks its result against it. */
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

/** A backup that could not be made; nothing is left behind but what was there before. */
export class BackupError extends Error {}

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

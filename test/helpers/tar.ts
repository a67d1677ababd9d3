import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

/** The `path` of a PAX extended header's records, if it has one. */
function paxPath(records: Buffer): string | undefined {
  for (let at = 0; at < records.length; ) {
    const space = records.indexOf(0x20, at);
    if (space < 0) break;
    const length = Number(records.subarray(at, space).toString("ascii"));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = records.subarray(space + 1, at + length - 1).toString("utf8");
    if (record.startsWith("path=")) return record.slice("path=".length);
    at += length;
  }
  return undefined;
}

/** A .tar.gz's regular files as path → text, read the way tar reads ustar and PAX headers. */
export function readTarGz(data: Buffer | string): Map<string, string> {
  const tar = gunzipSync(typeof data === "string" ? readFileSync(data) : data);
  const files = new Map<string, string>();
  let nextPath: string | undefined;
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) =>
      header
        .subarray(start, start + length)
        .toString("utf8")
        .replace(/\0.*$/s, "");
    const size = Number.parseInt(field(124, 12).trim(), 8);
    const body = tar.subarray(at + 512, at + 512 + size);
    const type = field(156, 1);
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === "x") {
      nextPath = paxPath(body);
      continue;
    }
    const prefix = field(345, 155);
    const name = nextPath ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    nextPath = undefined;
    files.set(name, body.toString("utf8"));
  }
  return files;
}

import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

/** A .tar.gz's regular files as path → text, read the way tar reads ustar headers. */
export function readTarGz(data: Buffer | string): Map<string, string> {
  const tar = gunzipSync(typeof data === "string" ? readFileSync(data) : data);
  const files = new Map<string, string>();
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) =>
      header
        .subarray(start, start + length)
        .toString("utf8")
        .replace(/\0.*$/s, "");
    const size = Number.parseInt(field(124, 12).trim(), 8);
    const prefix = field(345, 155);
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    files.set(name, tar.subarray(at + 512, at + 512 + size).toString("utf8"));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

import { builtin } from "../base/builtin.js";

const BLOCK = 512;
/** The longest name a ustar header holds by itself; longer ones go in a PAX header before it. */
const USTAR_NAME_BYTES = 100;

/** A ustar header field: octal, NUL-terminated, zero-padded to its width. */
function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, "0")}\0`;
}

/** One ustar header block; `type` "0" is a regular file, "x" a PAX extended header for the next entry. */
function header(name: string, size: number, mtime: number, type: "0" | "x"): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  h.write(name, 0, USTAR_NAME_BYTES, "utf8");
  h.write(octal(0o600, 8), 100, "ascii");
  h.write(octal(0, 8), 108, "ascii");
  h.write(octal(0, 8), 116, "ascii");
  h.write(octal(size, 12), 124, "ascii");
  h.write(octal(Math.floor(mtime / 1000), 12), 136, "ascii");
  h.write("        ", 148, "ascii");
  h.write(type, 156, "ascii");
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}

/** A PAX record, `LEN path=VALUE\n`, whose length counts its own digits. */
function paxRecord(key: string, value: string): Buffer {
  const rest = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(rest) + 1;
  while (String(length).length + Buffer.byteLength(rest) !== length)
    length = String(length).length + Buffer.byteLength(rest);
  return Buffer.from(`${length}${rest}`, "utf8");
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK, 0);
}

/** The blocks of one file: a name too long for ustar (in bytes) is carried whole by a PAX header. */
function entry(name: string, body: Buffer, mtime: number): Buffer[] {
  const blocks: Buffer[] = [];
  if (Buffer.byteLength(name) > USTAR_NAME_BYTES) {
    const pax = paxRecord("path", name);
    blocks.push(header("PaxHeader", pax.length, mtime, "x"), pax, padding(pax.length));
  }
  // A reader that knows no PAX still gets a name: the first 100 bytes, cut at a character's start.
  blocks.push(
    header(
      Buffer.from(name)
        .subarray(0, USTAR_NAME_BYTES)
        .toString("utf8")
        .replace(/\uFFFD$/, ""),
      body.length,
      mtime,
      "0",
    ),
  );
  blocks.push(body, padding(body.length));
  return blocks;
}

/** Files (path → text) as a gzipped POSIX (PAX) tar archive, every entry mode 0600, names of any length. */
export function tarGz(files: ReadonlyMap<string, string>, mtime = Date.now()): Buffer {
  const parts: Buffer[] = [];
  for (const [name, text] of files) parts.push(...entry(name, Buffer.from(text, "utf8"), mtime));
  parts.push(Buffer.alloc(2 * BLOCK, 0));
  // node:zlib loaded here: only a support bundle needs it, not every run that might write one.
  const { gzipSync } = builtin("node:zlib") as typeof import("node:zlib");
  return gzipSync(Buffer.concat(parts));
}

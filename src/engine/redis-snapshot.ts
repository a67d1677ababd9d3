import { createReadStream } from "node:fs";
import { Transform } from "node:stream";
import type { ExecStreamResult, Kube } from "../kube/types.js";
import { REDIS_CONTAINER } from "../facts/names.js";

// Redis's data in a backup: the RDB snapshot `redis-cli --rdb` streams out, and its way back in.

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

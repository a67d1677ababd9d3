import { createHash } from "node:crypto";
import { writevSync } from "node:fs";
import { Writable } from "node:stream";

/** How much a FileSink gathers before one write: few system calls, bounded memory. */
const BATCH_BYTES = 1024 * 1024;

/**
 * A stream's bytes into an open file, hashed (sha256) and counted on the way, written in
 * batches of about 1 MiB by synchronous `writev`. A dump arrives as thousands of 32 KiB
 * messages: an asynchronous write each cost the thread pool's hand-off per message and kept
 * every buffer alive until its write was done, which set the pace on two cores. A write
 * blocks only while the kernel's page cache is full, which is the back-pressure anyway. Any
 * write error fails the stream with the error as it came (ENOSPC, EIO, …).
 */
export class FileSink extends Writable {
  private readonly hash = createHash("sha256");
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes taken so far (written or gathered). */
  bytes = 0;

  constructor(private readonly fd: number) {
    super({ highWaterMark: BATCH_BYTES });
  }

  /** The sha256 of every byte taken, in hex; once the stream has finished. */
  digest(): string {
    return this.hash.digest("hex");
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    // An empty buffer would make a whole writev write nothing, which reads as a stuck file.
    if (chunk.length === 0) {
      done();
      return;
    }
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    done(this.pendingBytes >= BATCH_BYTES ? this.flush() : null);
  }

  override _final(done: (err?: Error | null) => void): void {
    done(this.flush());
  }

  private flush(): Error | null {
    let buffers = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      while (buffers.length > 0) {
        const written = writevSync(this.fd, buffers);
        if (written === 0) return new Error("the file took no bytes");
        buffers = unwritten(buffers, written);
      }
      return null;
    } catch (err) {
      return err as Error;
    }
  }
}

/** What is left of `buffers` once `written` bytes of them are on disk (writev may write part). */
function unwritten(buffers: Buffer[], written: number): Buffer[] {
  let left = written;
  let i = 0;
  while (i < buffers.length && left >= buffers[i]!.length) left -= buffers[i++]!.length;
  const rest = buffers.slice(i);
  if (rest.length > 0 && left > 0) rest[0] = rest[0]!.subarray(left);
  return rest;
}

import { randomBytes } from "node:crypto";

// RFC 6455's frames: the client's (masked), and the server's read from bytes as they arrive.

/** An exec's frames are at most 32 KiB; 16 MiB is room for any status message. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** One WebSocket message: its opcode (1 text, 2 binary) and payload. */
export interface WsMessage {
  readonly opcode: number;
  readonly data: Buffer;
}

/** A client's frame (RFC 6455: always masked), of any length; one frame, FIN set. */
export function clientFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const length = payload.length;
  const header =
    length < 126
      ? Buffer.from([0x80 | opcode, 0x80 | length])
      : length < 65536
        ? Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), bigEndian64(length)]);
  const masked = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
  return Buffer.concat([header, mask, masked]);
}

function bigEndian64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** A peer broke RFC 6455 or our limits: the stream fails with this, sending `closeCode`. */
export class WsProtocolError extends Error {
  constructor(
    message: string,
    readonly closeCode = 1002,
  ) {
    super(message);
  }
}

/** What the decoder hands on: a whole message, a ping to answer, or the peer's close. */
export type WsEvent =
  | { readonly kind: "message"; readonly message: WsMessage }
  | { readonly kind: "ping"; readonly payload: Buffer }
  | { readonly kind: "pong" }
  | { readonly kind: "close"; readonly code: number | undefined; readonly reason: string };

interface Frame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Continuation, text, binary, close, ping, pong: bits 0, 1, 2, 8, 9, 10. */
const KNOWN_OPCODES = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 8) | (1 << 9) | (1 << 10);

function validUtf8(b: Buffer): boolean {
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

/**
 * A server's side of RFC 6455 read from bytes as they arrive: frames unmasked, no extension,
 * fragments reassembled, control frames whole and short. Each rule broken, and each message
 * over the limit, throws a WsProtocolError; a frame's declared length is checked before any
 * of it is buffered.
 */
export class FrameDecoder {
  // The bytes received and not yet decoded, as they came: a frame that spans chunks is copied
  // once, when it is whole, never the whole backlog at each chunk.
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private fragmentOpcode = 0;

  constructor(private readonly maxMessageBytes = MAX_MESSAGE_BYTES) {}

  /** Hands `take` each event the bytes so far complete (no array per chunk: a dump arrives in thousands). */
  push(chunk: Buffer, take: (event: WsEvent) => boolean | undefined): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    for (;;) {
      const frame = this.nextFrame();
      if (!frame) return;
      const event = this.eventOf(frame);
      // `take` says stop (the stream ended); a close ends it too.
      if (event && (take(event) === false || event.kind === "close")) return;
    }
  }

  /** The events of `chunk`, as a list: for tests. */
  events(chunk: Buffer): WsEvent[] {
    const all: WsEvent[] = [];
    this.push(chunk, (e) => {
      all.push(e);
      return true;
    });
    return all;
  }

  private nextFrame(): Frame | undefined {
    if (this.bufferedBytes < 2) return undefined;
    // A header is at most 10 bytes (a client's mask is never sent to us).
    const b = this.first(Math.min(10, this.bufferedBytes));
    const fin = (b[0]! & 0x80) !== 0;
    const opcode = b[0]! & 0x0f;
    if ((b[0]! & 0x70) !== 0)
      throw new WsProtocolError("a frame with reserved bits set, though no extension was agreed");
    if (((KNOWN_OPCODES >> opcode) & 1) === 0) throw new WsProtocolError(`a frame of unknown opcode ${opcode}`);
    if ((b[1]! & 0x80) !== 0) throw new WsProtocolError("a masked frame (a server's frames are never masked)");
    let length = b[1]! & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return undefined;
      length = b.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return undefined;
      const big = b.readBigUInt64BE(2);
      if (big >> 63n) throw new WsProtocolError("a frame length with its most significant bit set");
      length = big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(big);
      offset = 10;
    }
    if (opcode >= 8 && (!fin || length > 125))
      throw new WsProtocolError("a control frame that is fragmented or longer than 125 bytes");
    if (this.fragmentBytes + length > this.maxMessageBytes)
      throw new WsProtocolError(
        `a message of over ${this.maxMessageBytes / 1024 / 1024} MiB, more than the installer reads at once`,
        1009,
      );
    if (this.bufferedBytes < offset + length) return undefined;
    this.consume(offset);
    return { fin, opcode, payload: this.consume(length) };
  }

  /** The first `n` buffered bytes (n ≤ what is buffered), left buffered. */
  private first(n: number): Buffer {
    const head = this.chunks[0]!;
    return head.length >= n ? head.subarray(0, n) : Buffer.concat(this.chunks, n);
  }

  /** The first `n` buffered bytes (n ≤ what is buffered), taken: a copy only when they span chunks. */
  private consume(n: number): Buffer {
    this.bufferedBytes -= n;
    const head = this.chunks[0];
    if (head && head.length >= n) {
      if (head.length === n) this.chunks.shift();
      else this.chunks[0] = head.subarray(n);
      return head.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const chunk = this.chunks[0]!;
      const part = Math.min(chunk.length, n - at);
      chunk.copy(out, at, 0, part);
      at += part;
      if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    return out;
  }

  private eventOf({ fin, opcode, payload }: Frame): WsEvent | undefined {
    if (opcode === 8) return closeEvent(payload);
    if (opcode === 9) return { kind: "ping", payload };
    if (opcode === 10) return { kind: "pong" };
    if (opcode === 0 && this.fragments.length === 0)
      throw new WsProtocolError("a continuation frame with no message to continue");
    if (opcode !== 0 && this.fragments.length > 0)
      throw new WsProtocolError("a new message before the fragmented one ended");
    if (opcode !== 0) this.fragmentOpcode = opcode;
    this.fragments.push(payload);
    this.fragmentBytes += payload.length;
    if (!fin) return undefined;
    const data = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments);
    this.fragments = [];
    this.fragmentBytes = 0;
    if (this.fragmentOpcode === 1 && !validUtf8(data))
      throw new WsProtocolError("a text message that is not UTF-8", 1007);
    return { kind: "message", message: { opcode: this.fragmentOpcode, data } };
  }
}

export function closeEvent(payload: Buffer): WsEvent {
  if (payload.length === 1) throw new WsProtocolError("a close frame of one byte");
  const reason = payload.subarray(2);
  if (!validUtf8(reason)) throw new WsProtocolError("a close reason that is not UTF-8", 1007);
  return {
    kind: "close",
    code: payload.length >= 2 ? payload.readUInt16BE(0) : undefined,
    reason: reason.toString("utf8"),
  };
}

export function closePayload(code: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return b;
}

import { createHash, randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Duplex } from "node:stream";

/** One WebSocket message: its opcode (1 text, 2 binary) and payload. */
export interface WsMessage {
  readonly opcode: number;
  readonly data: Buffer;
}

/** What a peer may send before the stream is failed, and how long it may stay silent. */
export interface WsLimits {
  /** The largest message (all its fragments): a larger one fails the stream, never the process. */
  readonly maxMessageBytes: number;
  /** After this long with nothing received, a ping is sent; */
  readonly pingMs: number;
  /** after this long with nothing received (not even a pong), the stream fails. */
  readonly idleMs: number;
}

/**
 * client-go's exec heartbeat, in effect: a ping every 5 s of silence, given up after a minute.
 * An exec's frames are at most 32 KiB; 16 MiB is room for any status message.
 */
export const WS_LIMITS: WsLimits = { maxMessageBytes: 16 * 1024 * 1024, pingMs: 5_000, idleMs: 60_000 };

const ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The Sec-WebSocket-Accept a server must answer to `key` (RFC 6455 4.2.2). */
export function acceptKeyOf(key: string): string {
  return createHash("sha1").update(`${key}${ACCEPT_GUID}`).digest("base64");
}

/**
 * Why a server's 101 answer is not a WebSocket handshake for `key` and the protocols offered
 * (RFC 6455 4.1: the client must fail the connection), or undefined when it is one.
 */
export function handshakeFault(key: string, offered: string, headers: IncomingHttpHeaders): string | undefined {
  if (String(headers.upgrade ?? "").toLowerCase() !== "websocket")
    return `its Upgrade header is ${JSON.stringify(headers.upgrade ?? "")}, not "websocket"`;
  if (!/(^|,)\s*upgrade\s*(,|$)/i.test(String(headers.connection ?? "")))
    return `its Connection header is ${JSON.stringify(headers.connection ?? "")}, not "Upgrade"`;
  if (headers["sec-websocket-accept"] !== acceptKeyOf(key))
    return "its Sec-WebSocket-Accept does not answer our key (something between us and the API server is not speaking WebSocket)";
  const chosen = headers["sec-websocket-protocol"];
  if (chosen !== undefined && !offered.split(",").some((p) => p.trim() === chosen))
    return `it chose the subprotocol ${JSON.stringify(chosen)}, which was not offered`;
  return undefined;
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
  private buffered: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private fragmentOpcode = 0;

  constructor(private readonly maxMessageBytes = WS_LIMITS.maxMessageBytes) {}

  /** Hands `take` each event the bytes so far complete (no array per chunk: a dump arrives in thousands). */
  push(chunk: Buffer, take: (event: WsEvent) => boolean | undefined): void {
    // Most chunks start a frame: no copy unless one spans chunks.
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
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
    const b = this.buffered;
    if (b.length < 2) return undefined;
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
    if (b.length < offset + length) return undefined;
    this.buffered = b.subarray(offset + length);
    return { fin, opcode, payload: b.subarray(offset, offset + length) };
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

function closeEvent(payload: Buffer): WsEvent {
  if (payload.length === 1) throw new WsProtocolError("a close frame of one byte");
  const reason = payload.subarray(2);
  if (!validUtf8(reason)) throw new WsProtocolError("a close reason that is not UTF-8", 1007);
  return {
    kind: "close",
    code: payload.length >= 2 ? payload.readUInt16BE(0) : undefined,
    reason: reason.toString("utf8"),
  };
}

/** Close codes that say the stream ended as it should. */
const NORMAL_CLOSE = new Set([1000, 1001, undefined]);

/**
 * Reads the messages of an upgraded WebSocket connection until the server closes it, the socket
 * ends or the stream fails: a frame that breaks RFC 6455 or the limits, a message `onMessage`
 * cannot take (it threw), or silence past `limits.idleMs` (pings are sent after `pingMs` of it,
 * so a live server always answers). Every failure ends in `onEnd(err)` with one clear line,
 * never an exception out of a socket handler. The caller writes its own frames (`clientFrame`).
 */
export function readMessages(
  socket: Duplex,
  onMessage: (m: WsMessage) => void,
  onEnd: (err?: Error) => void,
  limits: WsLimits = WS_LIMITS,
): { close(): void; pause(): void; resume(): void } {
  const decoder = new FrameDecoder(limits.maxMessageBytes);
  let ended = false;
  let paused = false;
  // Set by each chunk, read by the heartbeat: no clock read per chunk.
  let heard = false;
  let heardAt = Date.now();
  const send = (opcode: number, payload: Buffer = Buffer.alloc(0)): void => {
    if (!socket.destroyed && socket.writable) socket.write(clientFrame(opcode, payload));
  };
  const end = (err?: Error, closeCode?: number): void => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    if (closeCode !== undefined) send(8, closePayload(closeCode));
    socket.destroy();
    onEnd(err);
  };
  const fail = (err: unknown): void => {
    const e = err instanceof Error ? err : new Error(String(err));
    end(new WsProtocolError(`the stream failed: ${e.message}`), e instanceof WsProtocolError ? e.closeCode : 1011);
  };
  const take = (event: WsEvent): void => {
    if (event.kind === "ping") send(10, event.payload);
    else if (event.kind === "message") onMessage(event.message);
    else if (event.kind === "close") {
      send(8, event.code === undefined ? Buffer.alloc(0) : closePayload(event.code));
      end(
        NORMAL_CLOSE.has(event.code)
          ? undefined
          : new Error(
              `the API server closed the stream (code ${event.code}${event.reason ? `: ${event.reason}` : ""})`,
            ),
      );
    }
  };
  socket.on("data", (chunk: Buffer) => {
    if (ended) return;
    heard = true;
    try {
      decoder.push(chunk, (event) => {
        take(event);
        return !ended;
      });
    } catch (err) {
      fail(err);
    }
  });
  // The heartbeat never keeps the process alive by itself: the socket does, while it is open.
  const heartbeat = setInterval(
    () => {
      // A paused stream reads nothing, pongs included: its silence is ours.
      if (paused || heard) {
        heard = false;
        heardAt = Date.now();
        return;
      }
      const silent = Date.now() - heardAt;
      if (silent >= limits.idleMs)
        fail(
          new WsProtocolError(`the API server sent nothing for ${Math.round(silent / 1000)} s, not even a pong`, 1001),
        );
      else if (silent >= limits.pingMs) send(9);
    },
    Math.max(10, Math.min(limits.pingMs, limits.idleMs) / 2),
  );
  heartbeat.unref();
  socket.once("end", () => end());
  socket.once("close", () => end());
  socket.once("error", (err) => end(err));
  return {
    close: () => end(undefined, 1000),
    pause: () => {
      paused = true;
      socket.pause();
    },
    resume: () => {
      paused = false;
      heardAt = Date.now();
      socket.resume();
    },
  };
}

function closePayload(code: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return b;
}

import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Duplex } from "node:stream";
import {
  clientFrame,
  closePayload,
  FrameDecoder,
  MAX_MESSAGE_BYTES,
  type WsEvent,
  type WsMessage,
  WsProtocolError,
} from "./ws-frames.js";

/** What a peer may send before the stream is failed, and how long it may stay silent. */
export interface WsLimits {
  /** The largest message (all its fragments): a larger one fails the stream, never the process. */
  readonly maxMessageBytes: number;
  /** After this long with nothing received, a ping is sent; */
  readonly pingMs: number;
  /** after this long with nothing received (not even a pong), the stream fails. */
  readonly idleMs: number;
}

/** client-go's exec heartbeat, in effect: a ping every 5 s of silence, given up after a minute. */
export const WS_LIMITS: WsLimits = { maxMessageBytes: MAX_MESSAGE_BYTES, pingMs: 5_000, idleMs: 60_000 };

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
  const reader = new MessageReader(socket, onMessage, onEnd, limits);
  return {
    close: () => reader.end(undefined, 1000),
    pause: () => reader.pause(),
    resume: () => reader.resume(),
  };
}

/** One connection's reading side: frames decoded, pings answered, silence watched, one end. */
class MessageReader {
  private readonly decoder: FrameDecoder;
  private ended = false;
  private paused = false;
  // Set by each chunk, read by the heartbeat: no clock read per chunk.
  private heard = false;
  private heardAt = Date.now();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly socket: Duplex,
    private readonly onMessage: (m: WsMessage) => void,
    private readonly onEnd: (err?: Error) => void,
    private readonly limits: WsLimits,
  ) {
    this.decoder = new FrameDecoder(limits.maxMessageBytes);
    socket.on("data", (chunk: Buffer) => this.read(chunk));
    // The heartbeat never keeps the process alive by itself: the socket does, while it is open.
    this.heartbeat = setInterval(() => this.beat(), Math.max(10, Math.min(limits.pingMs, limits.idleMs) / 2));
    this.heartbeat.unref();
    socket.once("end", () => this.end());
    socket.once("close", () => this.end());
    socket.once("error", (err) => this.end(err));
  }

  end(err?: Error, closeCode?: number): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    if (closeCode !== undefined) this.send(8, closePayload(closeCode));
    this.socket.destroy();
    this.onEnd(err);
  }

  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    this.paused = false;
    this.heardAt = Date.now();
    this.socket.resume();
  }

  private send(opcode: number, payload: Buffer = Buffer.alloc(0)): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(clientFrame(opcode, payload));
  }

  private fail(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.end(new WsProtocolError(`the stream failed: ${e.message}`), e instanceof WsProtocolError ? e.closeCode : 1011);
  }

  private read(chunk: Buffer): void {
    if (this.ended) return;
    this.heard = true;
    try {
      this.decoder.push(chunk, (event) => {
        this.take(event);
        return !this.ended;
      });
    } catch (err) {
      this.fail(err);
    }
  }

  private take(event: WsEvent): void {
    if (event.kind === "ping") this.send(10, event.payload);
    else if (event.kind === "message") this.onMessage(event.message);
    else if (event.kind === "close") {
      this.send(8, event.code === undefined ? Buffer.alloc(0) : closePayload(event.code));
      this.end(
        NORMAL_CLOSE.has(event.code)
          ? undefined
          : new Error(
              `the API server closed the stream (code ${event.code}${event.reason ? `: ${event.reason}` : ""})`,
            ),
      );
    }
  }

  private beat(): void {
    // A paused stream reads nothing, pongs included: its silence is ours.
    if (this.paused || this.heard) {
      this.heard = false;
      this.heardAt = Date.now();
      return;
    }
    const silent = Date.now() - this.heardAt;
    if (silent >= this.limits.idleMs)
      this.fail(
        new WsProtocolError(`the API server sent nothing for ${Math.round(silent / 1000)} s, not even a pong`, 1001),
      );
    else if (silent >= this.limits.pingMs) this.send(9);
  }
}

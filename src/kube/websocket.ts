import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";

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

/**
 * Reads the messages of an upgraded WebSocket connection (RFC 6455, server side unmasked),
 * answering pings, until the server closes it or the socket ends. The caller writes its own
 * frames (`clientFrame`) to the socket, e.g. stdin for `pods/exec`.
 */
export function readMessages(
  socket: Duplex,
  onMessage: (m: WsMessage) => void,
  onEnd: (err?: Error) => void,
): { close(): void; pause(): void; resume(): void } {
  let buffered: Buffer = Buffer.alloc(0);
  let fragments: Buffer[] = [];
  let fragmentOpcode = 0;
  let ended = false;
  const end = (err?: Error): void => {
    if (ended) return;
    ended = true;
    socket.destroy();
    onEnd(err);
  };
  const send = (opcode: number, payload: Buffer = Buffer.alloc(0)): void => {
    socket.write(clientFrame(opcode, payload));
  };
  socket.on("data", (chunk: Buffer) => {
    // Most chunks start a frame: no copy unless one spans chunks.
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    for (;;) {
      const frame = parseFrame(buffered);
      if (!frame) return;
      buffered = buffered.subarray(frame.size);
      if (frame.opcode === 8) {
        send(8);
        return end();
      }
      if (frame.opcode === 9) {
        send(10, frame.payload);
        continue;
      }
      if (frame.opcode === 10) continue;
      if (frame.opcode !== 0) fragmentOpcode = frame.opcode;
      fragments.push(frame.payload);
      if (frame.fin) {
        onMessage({ opcode: fragmentOpcode, data: fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments) });
        fragments = [];
      }
    }
  });
  socket.once("end", () => end());
  socket.once("close", () => end());
  socket.once("error", (err) => end(err));
  return {
    close: () => {
      if (!ended) send(8);
      end();
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
  };
}

function parseFrame(b: Buffer): { fin: boolean; opcode: number; payload: Buffer; size: number } | undefined {
  if (b.length < 2) return undefined;
  const fin = (b[0]! & 0x80) !== 0;
  const opcode = b[0]! & 0x0f;
  const masked = (b[1]! & 0x80) !== 0;
  let length = b[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (b.length < 4) return undefined;
    length = b.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (b.length < 10) return undefined;
    length = Number(b.readBigUInt64BE(2));
    offset = 10;
  }
  const maskKey = masked ? b.subarray(offset, offset + 4) : undefined;
  if (masked) offset += 4;
  if (b.length < offset + length) return undefined;
  let payload = b.subarray(offset, offset + length);
  if (maskKey) payload = Buffer.from(payload.map((x, i) => x ^ maskKey[i % 4]!));
  return { fin, opcode, payload, size: offset + length };
}

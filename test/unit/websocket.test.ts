// The exec stream against a hostile local server: every fault fails that stream with one clear
// line, never the process. (The real API server's exec is tested end to end.)
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { connect } from "../../src/kube/client.js";
import { resolveAccess } from "../../src/kube/kubeconfig.js";
import { streamExec } from "../../src/kube/exec-stream.js";
import { Transport } from "../../src/kube/transport.js";
import { acceptKeyOf } from "../../src/kube/websocket.js";
import { FrameDecoder, WsProtocolError } from "../../src/kube/ws-frames.js";
import { kubeconfigText } from "../helpers/kubeconfig.js";

/** A server frame: unmasked unless told, FIN unless told. */
function frame(
  opcode: number,
  payload: Buffer | string,
  o: { fin?: boolean; mask?: boolean; rsv?: number } = {},
): Buffer {
  const body = Buffer.from(payload);
  const first = ((o.fin ?? true) ? 0x80 : 0) | (o.rsv ?? 0) | opcode;
  const maskBit = o.mask ? 0x80 : 0;
  const head =
    body.length < 126
      ? Buffer.from([first, maskBit | body.length])
      : Buffer.from([first, maskBit | 126, body.length >> 8, body.length & 0xff]);
  if (!o.mask) return Buffer.concat([head, body]);
  const key = Buffer.from([1, 2, 3, 4]);
  return Buffer.concat([head, key, Buffer.from(body.map((b, i) => b ^ key[i & 3]!))]);
}
const channel = (n: number, data: string) => Buffer.concat([Buffer.from([n]), Buffer.from(data)]);
const SUCCESS = channel(3, JSON.stringify({ status: "Success" }));

/** What the server does once it has the upgrade request: its handshake and then its frames. */
type Behaviour = (socket: Socket, req: IncomingMessage) => void;

function handshake(req: IncomingMessage, accept = acceptKeyOf(String(req.headers["sec-websocket-key"]))): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n`;
}

describe("exec streams against a hostile server (RFC 6455)", () => {
  let server: Server;
  let behaviour: Behaviour = () => undefined;
  let dir: string;
  let kubeconfig: string;
  const sockets = new Set<Socket>();
  const pongs: Buffer[] = [];

  before(async () => {
    server = createServer((_req, res) => res.writeHead(404).end());
    server.on("upgrade", (req: IncomingMessage, socket: Socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("data", (b: Buffer) => {
        if ((b[0]! & 0x0f) === 10) pongs.push(b);
      });
      behaviour(socket, req);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    dir = mkdtempSync(join(tmpdir(), "ws-"));
    kubeconfig = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfig,
      kubeconfigText({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, {}),
    );
  });
  after(() => {
    for (const s of sockets) s.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const exec = (timeoutMs = 5_000) =>
    connect({ kubeconfig, env: {} }).exec("ns", "postgres-0", "postgres", ["psql"], { timeoutMs });

  it("a well-behaved server: fragments reassembled, pings answered, the status read", async () => {
    behaviour = (socket, req) => {
      socket.write(handshake(req));
      socket.write(frame(2, channel(1, "hel"), { fin: false }));
      socket.write(frame(9, "are you there"));
      // The rest once the pong is in.
      socket.once("data", () => {
        socket.write(frame(0, "lo\n"));
        socket.write(frame(2, SUCCESS));
        socket.end(frame(8, Buffer.from([0x03, 0xe8])));
      });
    };
    const before = pongs.length;
    const r = await exec();
    assert.deepEqual(r, { exitCode: 0, stdout: "hello\n", stderr: "" });
    assert.ok(pongs.length > before, "the ping was answered");
  });

  const faults: [string, Behaviour, RegExp][] = [
    [
      "a wrong Sec-WebSocket-Accept",
      (socket, req) => socket.write(handshake(req, acceptKeyOf("another key"))),
      /not a WebSocket handshake: its Sec-WebSocket-Accept does not answer our key/,
    ],
    [
      "a masked server frame",
      (socket, req) => socket.write(Buffer.concat([Buffer.from(handshake(req)), frame(2, SUCCESS, { mask: true })])),
      /the stream failed: a masked frame/,
    ],
    [
      "a frame that declares 64 MiB",
      (socket, req) => {
        const head = Buffer.from([0x82, 127, 0, 0, 0, 0, 0x04, 0, 0, 0]);
        socket.write(Buffer.concat([Buffer.from(handshake(req)), head, Buffer.alloc(1024, 1)]));
      },
      /the stream failed: a message of over 16 MiB/,
    ],
    [
      "a message of fragments past the limit",
      (socket, req) => {
        socket.write(handshake(req));
        const piece = Buffer.alloc(60_000, 7);
        for (let i = 0; i < 300; i++) socket.write(frame(i === 0 ? 2 : 0, piece, { fin: false }));
      },
      /the stream failed: a message of over 16 MiB/,
    ],
    [
      "garbage on the status channel",
      (socket, req) => socket.write(Buffer.concat([Buffer.from(handshake(req)), frame(2, channel(3, "{not json"))])),
      /the stream failed: the exec status is not JSON/,
    ],
    [
      "reserved bits set",
      (socket, req) => socket.write(Buffer.concat([Buffer.from(handshake(req)), frame(2, SUCCESS, { rsv: 0x40 })])),
      /reserved bits set/,
    ],
    [
      "a continuation with nothing to continue",
      (socket, req) => socket.write(Buffer.concat([Buffer.from(handshake(req)), frame(0, SUCCESS)])),
      /a continuation frame with no message to continue/,
    ],
    [
      "a close with an error code and no status",
      (socket, req) =>
        socket.write(
          Buffer.concat([Buffer.from(handshake(req)), frame(8, Buffer.from([0x03, 0xf3, 0x62, 0x61, 0x64]))]),
        ),
      /the API server closed the stream \(code 1011: bad\)/,
    ],
    ["a handshake and then silence", (socket, req) => socket.write(handshake(req)), /no exit status within 0.5 s/],
  ];
  for (const [name, misbehave, message] of faults) {
    it(`${name}: that request fails with one line`, async () => {
      behaviour = misbehave;
      await assert.rejects(exec(name.includes("silence") ? 500 : 10_000), (err: Error) => {
        assert.match(err.message, /^running psql in postgres-0\/postgres: /);
        assert.match(err.message, message);
        assert.ok(!err.message.includes("\n"), "one line");
        return true;
      });
    });
  }

  it("a server that never answers the upgrade: the connect timeout ends it", async () => {
    behaviour = () => undefined;
    const transport = new Transport(resolveAccess({ kubeconfig, env: {} }));
    await assert.rejects(
      transport.websocket("/exec", {}, "v5.channel.k8s.io", "running psql", 300),
      /running psql: ETIMEDOUT \(no answer within 0.3 s\)/,
    );
  });

  it("a streamed exec whose server stops answering, pings included, ends after the idle limit", async () => {
    behaviour = (socket, req) => socket.write(Buffer.concat([Buffer.from(handshake(req)), frame(2, channel(1, "x"))]));
    const transport = new Transport(resolveAccess({ kubeconfig, env: {} }));
    const { socket, protocol } = await transport.websocket("/exec", {}, "v5.channel.k8s.io", "running pg_dump");
    const started = Date.now();
    await assert.rejects(
      streamExec(socket, protocol, { stdout: new PassThrough().resume() }, "running pg_dump", {
        maxMessageBytes: 1024,
        pingMs: 100,
        idleMs: 400,
      }),
      (err: Error) =>
        /^running pg_dump: the stream failed: the API server sent nothing for \d+ s, not even a pong$/.test(
          err.message,
        ),
    );
    assert.ok(Date.now() - started < 2_000, "ended soon after the idle limit");
  });
});

describe("the frame decoder", () => {
  it("frames split at every byte come out as the same events", () => {
    const bytes = Buffer.concat([
      frame(2, channel(1, "ab"), { fin: false }),
      frame(10, ""),
      frame(0, "c"),
      frame(8, ""),
    ]);
    const d = new FrameDecoder();
    const events = [...bytes].flatMap((b) => d.events(Buffer.from([b])));
    assert.deepEqual(
      events.map((e) => (e.kind === "message" ? `message ${e.message.data.toString("latin1")}` : e.kind)),
      ["pong", "message \u0001abc", "close"],
    );
  });

  it("a control frame longer than 125 bytes, a new message inside a fragmented one, bad UTF-8: each refused", () => {
    const refuse = (bytes: Buffer, message: RegExp) =>
      assert.throws(
        () => new FrameDecoder().events(bytes),
        (e: Error) => e instanceof WsProtocolError && message.test(e.message),
      );
    refuse(frame(9, Buffer.alloc(126)), /control frame/);
    refuse(Buffer.concat([frame(2, "a", { fin: false }), frame(2, "b")]), /a new message before/);
    refuse(frame(1, Buffer.from([0xff, 0xfe])), /not UTF-8/);
    refuse(frame(5, ""), /unknown opcode 5/);
    refuse(Buffer.from([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]), /most significant bit/);
  });
});

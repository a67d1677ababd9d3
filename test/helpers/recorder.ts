// Stand-ins on 127.0.0.1 that record what a Kubernetes client sends: an HTTPS "API server" that
// notes each request's identity (headers, SNI, client certificate) and answers /version, an HTTP
// CONNECT proxy and a SOCKS5 proxy that note each tunnel and lead every one to the recorder.
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import {
  connect,
  createServer as createTcpServer,
  type AddressInfo,
  type Server as TcpServer,
  type Socket,
} from "node:net";
import type { TLSSocket } from "node:tls";

export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The server name the client sent in its TLS hello. */
  readonly sni: string | undefined;
  /** The client certificate's subject CN, if one was presented. */
  readonly clientCn: string | undefined;
  /** Which TLS connection carried it (1, 2, … in the order of their first requests). */
  readonly connection: number;
  /** Whether that connection resumed an earlier TLS session instead of a full handshake. */
  readonly resumed: boolean;
}

export interface Recorder {
  readonly port: number;
  readonly requests: Recorded[];
  /** Answers 401 to the next `n` requests (a credential the server no longer takes). */
  refuseNext(n: number): void;
  close(): Promise<void>;
}

export async function startRecorder(pem: { cert: Buffer; key: Buffer; ca: Buffer }): Promise<Recorder> {
  const requests: Recorded[] = [];
  const connections = new WeakMap<TLSSocket, number>();
  let connectionCount = 0;
  let refuse = 0;
  const server: HttpsServer = createHttpsServer(
    { cert: pem.cert, key: pem.key, ca: pem.ca, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const socket = req.socket as TLSSocket & { servername?: string | false };
      const peer = socket.getPeerCertificate();
      if (!connections.has(socket)) connections.set(socket, ++connectionCount);
      requests.push({
        method: req.method ?? "",
        path: req.url ?? "",
        headers: { ...req.headers },
        sni: socket.servername || undefined,
        clientCn: peer?.subject ? String(peer.subject.CN) : undefined,
        connection: connections.get(socket)!,
        resumed: socket.isSessionReused(),
      });
      res.setHeader("content-type", "application/json");
      if (refuse > 0) {
        refuse--;
        res.statusCode = 401;
        res.end(
          JSON.stringify({
            kind: "Status",
            apiVersion: "v1",
            status: "Failure",
            message: "Unauthorized",
            reason: "Unauthorized",
            code: 401,
          }),
        );
        return;
      }
      if (req.url?.startsWith("/version")) {
        res.end(JSON.stringify({ major: "1", minor: "36", gitVersion: "v1.36.3-recorder" }));
        return;
      }
      res.statusCode = 404;
      res.end(
        JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          message: "not recorded here",
          reason: "NotFound",
          code: 404,
        }),
      );
    },
  );
  const port = await listen(server);
  return {
    port,
    requests,
    refuseNext: (n) => {
      refuse = n;
    },
    close: () => close(server),
  };
}

export interface ProxyStandIn {
  readonly port: number;
  /** host:port of every tunnel asked for, in order. */
  readonly tunnels: string[];
  close(): Promise<void>;
}

/** An HTTP proxy that takes CONNECT for any host and leads it to `toPort` on 127.0.0.1 (or to the host asked, if `toPort` is undefined). */
export async function startConnectProxy(toPort: number | undefined): Promise<ProxyStandIn> {
  const tunnels: string[] = [];
  const server: HttpServer = createHttpServer((_req, res) => {
    res.statusCode = 405;
    res.end();
  });
  server.on("connect", (req, client: Socket, head: Buffer) => {
    tunnels.push(req.url ?? "");
    const [host, port] = splitHostPort(req.url ?? "");
    const upstream = connect(toPort ?? port, toPort === undefined ? host : "127.0.0.1", () => {
      client.write("HTTP/1.1 200 Connection established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  const port = await listen(server);
  return { port, tunnels, close: () => close(server) };
}

/** A SOCKS5 proxy without authentication that leads every CONNECT to `toPort` on 127.0.0.1. */
export async function startSocksProxy(toPort: number): Promise<ProxyStandIn> {
  const tunnels: string[] = [];
  const server: TcpServer = createTcpServer((client) => {
    let stage = 0;
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      if (stage === 0 && buffered.length >= 2 && buffered.length >= 2 + buffered[1]!) {
        buffered = buffered.subarray(2 + buffered[1]!);
        client.write(Buffer.from([5, 0]));
        stage = 1;
      }
      if (stage !== 1 || buffered.length < 5) return;
      const type = buffered[3];
      const addrLen = type === 1 ? 4 : type === 4 ? 16 : 1 + buffered[4]!;
      if (buffered.length < 4 + addrLen + 2) return;
      const host =
        type === 3
          ? buffered.subarray(5, 5 + buffered[4]!).toString()
          : type === 1
            ? [...buffered.subarray(4, 8)].join(".")
            : "ipv6";
      const port = buffered.readUInt16BE(4 + addrLen);
      tunnels.push(`${host}:${port}`);
      const rest = buffered.subarray(4 + addrLen + 2);
      stage = 2;
      client.off("data", onData);
      const upstream = connect(toPort, "127.0.0.1", () => {
        client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
        if (rest.length > 0) upstream.write(rest);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
    };
    client.on("data", onData);
  });
  const port = await listen(server);
  return { port, tunnels, close: () => close(server) };
}

function splitHostPort(target: string): [string, number] {
  const at = target.lastIndexOf(":");
  return [target.slice(0, at).replace(/^\[|\]$/g, ""), Number(target.slice(at + 1))];
}

function listen(server: HttpServer | HttpsServer | TcpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: HttpServer | HttpsServer | TcpServer): Promise<void> {
  (server as HttpServer).closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

import { BlockList, isIP, connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

/** The schemes kubectl takes in a kubeconfig's `proxy-url` (and in HTTPS_PROXY). */
export const PROXY_SCHEMES = ["http:", "https:", "socks5:"] as const;

/**
 * The proxy a request to `server` goes through, as kubectl chooses it: the cluster's `proxy-url`
 * when set; otherwise HTTPS_PROXY (HTTP_PROXY for an http:// server) unless NO_PROXY matches the
 * host. Loopback is never proxied by the environment (Go's rule, so kubectl's).
 */
export function proxyFor(
  server: URL,
  proxyUrl: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): URL | undefined {
  if (proxyUrl) return parseProxyUrl(proxyUrl, "proxy-url");
  const https = server.protocol === "https:";
  const fromEnv = https ? (env["HTTPS_PROXY"] ?? env["https_proxy"]) : (env["HTTP_PROXY"] ?? env["http_proxy"]);
  if (!fromEnv) return undefined;
  const host = server.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || isLoopback(host)) return undefined;
  if (matchesNoProxy(host, server.port || (https ? "443" : "80"), env["NO_PROXY"] ?? env["no_proxy"] ?? ""))
    return undefined;
  // Go reads a scheme-less value as http://HOST (so does kubectl).
  return parseProxyUrl(
    /^[a-z0-9+.-]+:\/\//i.test(fromEnv) ? fromEnv : `http://${fromEnv}`,
    https ? "HTTPS_PROXY" : "HTTP_PROXY",
  );
}

function parseProxyUrl(value: string, field: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ProxyConfigError(
      `${field} ${JSON.stringify(value)} is not a URL: allowed are http://, https:// and socks5:// proxies`,
    );
  }
  if (!(PROXY_SCHEMES as readonly string[]).includes(url.protocol)) {
    throw new ProxyConfigError(
      `${field} ${JSON.stringify(value)}: the scheme ${url.protocol.replace(/:$/, "")} is not supported: allowed are http, https and socks5 (as kubectl)`,
    );
  }
  return url;
}

export class ProxyConfigError extends Error {}

function isLoopback(host: string): boolean {
  const family = isIP(host);
  if (family === 4) return host.startsWith("127.");
  if (family === 6) return host === "::1" || host === "0:0:0:0:0:0:0:1";
  return false;
}

/** NO_PROXY as Go's httpproxy reads it: `*`, domain suffixes (with or without a leading dot), IPs and CIDRs, an optional :port. */
export function matchesNoProxy(host: string, port: string, noProxy: string): boolean {
  for (const raw of noProxy
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)) {
    if (raw === "*") return true;
    if (raw.includes("/")) {
      const [net, bits] = raw.split("/");
      const family = isIP(net ?? "");
      if (family === 0 || isIP(host) !== family) continue;
      const list = new BlockList();
      list.addSubnet(net!, Number(bits), family === 4 ? "ipv4" : "ipv6");
      if (list.check(host, family === 4 ? "ipv4" : "ipv6")) return true;
      continue;
    }
    const m = /^(.*?)(?::(\d+))?$/.exec(raw.replace(/^\[(.*)\](:\d+)?$/, "$1$2"))!;
    const [name, onlyPort] = [m[1]!, m[2]];
    if (onlyPort !== undefined && onlyPort !== port) continue;
    if (isIP(name) !== 0) {
      if (name === host) return true;
      continue;
    }
    const suffix = name.startsWith(".") ? name : `.${name}`;
    if (host === name.replace(/^\./, "") || host.endsWith(suffix)) return true;
  }
  return false;
}

/**
 * A TCP connection to `host:port` through the proxy: an HTTP(S) proxy's CONNECT tunnel, or a
 * SOCKS5 CONNECT. The caller speaks TLS (or plain HTTP) over it as if connected directly.
 */
export async function openTunnel(proxy: URL, host: string, port: number, timeoutMs = 10_000): Promise<Socket> {
  const proxyPort = Number(
    proxy.port || (proxy.protocol === "https:" ? 443 : proxy.protocol === "socks5:" ? 1080 : 80),
  );
  const proxyHost = proxy.hostname.replace(/^\[|\]$/g, "");
  const socket: Socket =
    proxy.protocol === "https:"
      ? tlsConnect({
          host: proxyHost,
          port: proxyPort,
          servername: isIP(proxyHost) ? undefined : proxyHost,
          ALPNProtocols: ["http/1.1"],
        })
      : netConnect({ host: proxyHost, port: proxyPort });
  socket.setTimeout(timeoutMs, () =>
    socket.destroy(Object.assign(new Error(`the proxy ${proxy.host} did not answer`), { code: "ETIMEDOUT" })),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once(proxy.protocol === "https:" ? "secureConnect" : "connect", resolve);
      socket.once("error", reject);
    });
    if (proxy.protocol === "socks5:") await socksConnect(socket, proxy, host, port);
    else await httpConnect(socket, proxy, host, port);
    socket.setTimeout(0);
    socket.removeAllListeners("error");
    return socket;
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username) return undefined;
  return `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString("base64")}`;
}

async function httpConnect(socket: Socket, proxy: URL, host: string, port: number): Promise<void> {
  const target = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  const auth = proxyAuthorization(proxy);
  socket.write(
    `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ""}\r\n`,
  );
  const head = await readUntil(socket, (b) => {
    const end = b.indexOf("\r\n\r\n");
    return end < 0 ? undefined : end + 4;
  });
  const status = /^HTTP\/1\.[01] (\d{3})(.*)/.exec(head.toString("latin1"));
  if (status?.[1] !== "200") {
    throw Object.assign(
      new Error(
        `the proxy ${proxy.host} refused to connect to ${target}: ${status ? `${status[1]}${status[2]}` : "no HTTP answer"}`,
      ),
      { code: "EPROXY" },
    );
  }
}

async function socksConnect(socket: Socket, proxy: URL, host: string, port: number): Promise<void> {
  const auth = proxy.username !== "";
  socket.write(Buffer.from(auth ? [5, 2, 0, 2] : [5, 1, 0]));
  const choice = await readUntil(socket, (b) => (b.length >= 2 ? 2 : undefined));
  if (choice[1] === 2 && auth) {
    const user = Buffer.from(decodeURIComponent(proxy.username));
    const pass = Buffer.from(decodeURIComponent(proxy.password));
    socket.write(Buffer.concat([Buffer.from([1, user.length]), user, Buffer.from([pass.length]), pass]));
    const ok = await readUntil(socket, (b) => (b.length >= 2 ? 2 : undefined));
    if (ok[1] !== 0)
      throw Object.assign(new Error(`the SOCKS5 proxy ${proxy.host} refused the username and password`), {
        code: "EPROXY",
      });
  } else if (choice[1] !== 0) {
    throw Object.assign(new Error(`the SOCKS5 proxy ${proxy.host} accepts none of our authentication methods`), {
      code: "EPROXY",
    });
  }
  const family = isIP(host);
  const address =
    family === 4
      ? Buffer.from([1, ...host.split(".").map(Number)])
      : Buffer.concat([Buffer.from([3, Buffer.byteLength(host)]), Buffer.from(host)]);
  const portBytes = Buffer.from([port >> 8, port & 0xff]);
  socket.write(Buffer.concat([Buffer.from([5, 1, 0]), address, portBytes]));
  const reply = await readUntil(socket, (b) => {
    if (b.length < 5) return undefined;
    const len = b[3] === 1 ? 4 : b[3] === 4 ? 16 : 1 + b[4]!;
    return b.length >= 4 + len + 2 ? 4 + len + 2 : undefined;
  });
  if (reply[1] !== 0)
    throw Object.assign(
      new Error(`the SOCKS5 proxy ${proxy.host} could not connect to ${host}:${port} (reply ${reply[1]})`),
      { code: "EPROXY" },
    );
}

/** Reads from the socket until `complete` says how many bytes make the answer; the rest is put back. */
function readUntil(socket: Socket, complete: (buffered: Buffer) => number | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const size = complete(buffered);
      if (size === undefined) {
        if (buffered.length > 16_384) done(new Error("the proxy's answer is too long"));
        return;
      }
      done();
      if (buffered.length > size) socket.unshift(buffered.subarray(size));
      resolve(buffered.subarray(0, size));
    };
    const onEnd = (): void => done(Object.assign(new Error("the proxy closed the connection"), { code: "ECONNRESET" }));
    const done = (err?: Error): void => {
      socket.off("data", onData);
      // Nothing more may be read until TLS (or HTTP) takes the socket over.
      socket.pause();
      socket.off("error", done);
      socket.off("end", onEnd);
      if (err) reject(err);
    };
    socket.on("data", onData);
    socket.once("error", done);
    socket.once("end", onEnd);
    socket.resume();
  });
}

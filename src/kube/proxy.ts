import { BlockList, isIP, connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { domainToASCII } from "node:url";

/** The schemes kubectl takes in a kubeconfig's `proxy-url` (and in HTTPS_PROXY). */
export const PROXY_SCHEMES = ["http:", "https:", "socks5:"] as const;

/**
 * The proxy a request to `server` goes through, as kubectl chooses it: the cluster's `proxy-url`
 * when set; otherwise HTTPS_PROXY (HTTP_PROXY for an http:// server) unless NO_PROXY exempts the
 * host (Go's rules, which kubectl follows: `matchesNoProxy`). Each variable is read as Go reads
 * it: the upper-case name first, an empty value as unset.
 */
export function proxyFor(
  server: URL,
  proxyUrl: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): URL | undefined {
  if (proxyUrl) return parseProxyUrl(proxyUrl, "proxy-url");
  const https = server.protocol === "https:";
  const fromEnv = https ? envAny(env, "HTTPS_PROXY", "https_proxy") : envAny(env, "HTTP_PROXY", "http_proxy");
  if (!fromEnv) return undefined;
  const host = server.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (!proxiedByEnvironment(host, server.port || (https ? "443" : "80"), envAny(env, "NO_PROXY", "no_proxy") ?? ""))
    return undefined;
  // Go reads a scheme-less value as http://HOST (so does kubectl).
  return parseProxyUrl(
    /^[a-z0-9+.-]+:\/\//i.test(fromEnv) ? fromEnv : `http://${fromEnv}`,
    https ? "HTTPS_PROXY" : "HTTP_PROXY",
  );
}

/** Go's getEnvAny: the first of the names with a non-empty value. */
function envAny(env: Readonly<Record<string, string | undefined>>, ...names: string[]): string | undefined {
  for (const name of names) if (env[name]) return env[name];
  return undefined;
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

/** An IP as Go compares it: an IPv4-mapped IPv6 address is its IPv4 address. */
function canonicalIp(host: string): { address: string; family: "ipv4" | "ipv6" } | undefined {
  const family = isIP(host);
  if (family === 4) return { address: host, family: "ipv4" };
  if (family !== 6) return undefined;
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(.+)$/i.exec(host)?.[1];
  if (mapped && isIP(mapped) === 4) return { address: mapped, family: "ipv4" };
  const hex = mapped && /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(mapped);
  if (hex) {
    const [hi, lo] = [Number.parseInt(hex[1]!, 16), Number.parseInt(hex[2]!, 16)];
    return { address: [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join("."), family: "ipv4" };
  }
  return { address: host, family: "ipv6" };
}

function sameIp(a: { address: string; family: string }, b: { address: string; family: string }): boolean {
  if (a.family !== b.family) return false;
  const list = new BlockList();
  list.addAddress(a.address, a.family as "ipv4" | "ipv6");
  return list.check(b.address, b.family as "ipv4" | "ipv6");
}

function isLoopback(ip: { address: string; family: string }): boolean {
  return ip.family === "ipv4" ? ip.address.startsWith("127.") : sameIp(ip, { address: "::1", family: "ipv6" });
}

/**
 * Whether the environment's proxy is used for `host:port`, exactly as Go's httpproxy decides
 * (and client-go, which first exempts an IP inside any of NO_PROXY's CIDRs): never for
 * `localhost` or a loopback IP; not when NO_PROXY is `*`, names the IP (with its port, if it
 * gives one), holds it in a CIDR, or names a domain the host is or ends with. A domain entry
 * `corp` matches `corp` and `x.corp`; `.corp` and `*.corp` match only `x.corp`.
 */
export function proxiedByEnvironment(host: string, port: string, noProxy: string): boolean {
  const name = host.toLowerCase();
  const ip = canonicalIp(name);
  if (name === "localhost" || (ip && isLoopback(ip))) return false;
  return !matchesNoProxy(name, port, noProxy);
}

/** Whether one of NO_PROXY's entries exempts `host:port` (Go's httpproxy matchers, in its order). */
export function matchesNoProxy(host: string, port: string, noProxy: string): boolean {
  const ip = canonicalIp(host);
  for (const raw of noProxy.split(",")) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === "*") return true;
    const rule = noProxyRule(entry);
    if (rule?.kind === "cidr") {
      if (ip && rule.list.check(ip.address, ip.family)) return true;
    } else if (rule?.kind === "ip") {
      if (ip && sameIp(rule.ip, ip) && (!rule.port || rule.port === port)) return true;
    } else if (rule?.kind === "domain" && !ip) {
      // A domain entry never exempts an IP host: NO_PROXY=2.3 leaves 10.1.2.3 proxied (kubectl does).
      const named = host.endsWith(rule.suffix) || (rule.matchHost && host === rule.suffix.slice(1));
      if (named && (!rule.port || rule.port === port)) return true;
    }
  }
  return false;
}

type NoProxyRule =
  | { kind: "cidr"; list: BlockList }
  | { kind: "ip"; ip: { address: string; family: "ipv4" | "ipv6" }; port: string }
  | { kind: "domain"; suffix: string; matchHost: boolean; port: string };

/** One NO_PROXY entry as Go's httpproxy parses it; undefined for an entry it ignores. */
function noProxyRule(entry: string): NoProxyRule | undefined {
  const cidr = /^([^/]+)\/(\d{1,3})$/.exec(entry);
  if (cidr) {
    const ip = canonicalIp(cidr[1]!);
    const bits = Number(cidr[2]);
    if (ip && isIP(cidr[1]!) && bits <= (isIP(cidr[1]!) === 4 ? 32 : 128)) {
      const list = new BlockList();
      list.addSubnet(cidr[1]!, bits, isIP(cidr[1]!) === 4 ? "ipv4" : "ipv6");
      return { kind: "cidr", list };
    }
  }
  // Only a `[v6]:port` entry loses its brackets: Go reads a bare `[::1]` as a domain name.
  const { host, port } = splitHostPort(entry) ?? { host: entry, port: "" };
  const ip = canonicalIp(host);
  if (ip) return { kind: "ip", ip, port };
  if (!host) return undefined;
  const name = host.startsWith("*.") ? host.slice(1) : host;
  const matchHost = !name.startsWith(".");
  return {
    kind: "domain",
    suffix: domainToASCII(matchHost ? `.${name}` : name) || (matchHost ? `.${name}` : name),
    matchHost,
    port,
  };
}

/** Go's net.SplitHostPort: `host:port` or `[v6]:port`; undefined where it would fail (no port, bare IPv6). */
function splitHostPort(entry: string): { host: string; port: string } | undefined {
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(entry);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2]! };
  const at = entry.lastIndexOf(":");
  if (at < 0 || entry.indexOf(":") !== at || entry.includes("[") || entry.includes("]")) return undefined;
  return { host: entry.slice(0, at), port: entry.slice(at + 1) };
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

import { randomBytes } from "node:crypto";
import type { Agent as HttpAgent, IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { createSecureContext } from "node:tls";
import type { Duplex } from "node:stream";
import { http } from "../node-http.js";
import type { ClusterAccess, Credentials } from "./kubeconfig.js";
import { ClusterAccessError, KubeApiError, type ApiErrorCause } from "./types.js";

/** Query parameters; an array repeats its parameter (exec's `command`). */
const { request: httpRequest } = http;

export type Query = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

export interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly signal?: AbortSignal | undefined;
  /** How long a request may take before it is abandoned (streams: none). */
  readonly timeoutMs?: number;
}

const REQUEST_TIMEOUT_MS = 30_000;
const NETWORK_CODES = /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET|EPIPE|EAI_AGAIN|ERR_TLS_CERT|CERT_|DEPTH_ZERO|UNABLE_TO_VERIFY|SELF_SIGNED|ERR_SSL|UND_ERR_SOCKET)/;

/**
 * HTTP to one API server over Node's own https: JSON requests on a small pool of kept-alive
 * connections, and long-lived streams (watches, logs, exec) on connections of their own, so a
 * dozen open watches never queue a request behind them.
 */
export class Transport {
  private agents: { requests: HttpAgent; streams: HttpAgent } | undefined;
  private readonly url: URL;

  constructor(private readonly access: ClusterAccess) {
    this.url = new URL(access.server);
  }

  private async prepare(): Promise<{ credentials: Credentials; agents: { requests: HttpAgent; streams: HttpAgent } }> {
    const credentials = await this.access.credentials();
    if (!this.agents) {
      const { ca, cert, key, rejectUnauthorized, servername } = { ...this.access.tls, cert: credentials.cert ?? this.access.tls.cert, key: credentials.key ?? this.access.tls.key };
      const Agent = this.url.protocol === "https:" ? HttpsAgent : http.Agent;
      // One TLS context for every connection: given the CA and key instead, Node parses them again for each.
      const secureContext = this.url.protocol === "https:" ? createSecureContext({ ca, cert, key }) : undefined;
      const options = { keepAlive: true, secureContext, rejectUnauthorized, ...(servername ? { servername } : {}) };
      this.agents = { requests: new Agent({ ...options, maxSockets: 8 }), streams: new Agent({ ...options, keepAlive: false }) };
    }
    return { credentials, agents: this.agents };
  }

  private pathOf(path: string, query: Query | undefined): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) {
      if (Array.isArray(v)) for (const x of v) q.append(k, x);
      else if (v !== undefined) q.set(k, String(v));
    }
    const base = this.url.pathname.replace(/\/+$/, "");
    return `${base}${path}${q.size > 0 ? `?${q}` : ""}`;
  }

  private async open(method: string, path: string, options: RequestOptions, stream: boolean, extraHeaders: Record<string, string> = {}) {
    const { credentials, agents } = await this.prepare();
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string> = { accept: "application/json", ...credentials.headers, ...extraHeaders };
    if (body) Object.assign(headers, { "content-type": options.contentType ?? "application/json", "content-length": String(body.length) });
    const send = this.url.protocol === "https:" ? httpsRequest : httpRequest;
    return send({
      protocol: this.url.protocol, hostname: this.url.hostname.replace(/^\[|\]$/g, ""), port: this.url.port || undefined,
      method, path: this.pathOf(path, options.query), headers, agent: stream ? agents.streams : agents.requests,
      ...(options.signal ? { signal: options.signal } : {}),
    }).end(body);
  }

  /** A JSON request; an error status becomes a KubeApiError, an unreachable server a ClusterAccessError. */
  async request<T = unknown>(method: string, path: string, what: string, options: RequestOptions = {}): Promise<T> {
    const req = await this.open(method, path, options, false).catch((err: unknown) => { throw networkError(err, what); });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      req.setTimeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS, () => req.destroy(Object.assign(new Error("no answer"), { code: "ETIMEDOUT" })));
      req.once("response", resolve);
      req.once("error", reject);
    }).catch((err: unknown) => { throw networkError(err, what); });
    const text = await readAll(res).catch((err: unknown) => { throw networkError(err, what); });
    if ((res.statusCode ?? 0) >= 300) throw statusError(res.statusCode ?? 0, text, what);
    const type = res.headers["content-type"] ?? "";
    return (type.includes("json") ? JSON.parse(text) : text) as T;
  }

  /**
   * A streaming GET (watch, follow): calls `onLine` per line until the server ends the stream or
   * it fails. Resolves once the response has started; `ended` settles when the stream does.
   */
  async stream(path: string, what: string, query: Query, onLine: (line: string) => void, signal?: AbortSignal): Promise<{ ended: Promise<void> }> {
    const req = await this.open("GET", path, { query, signal }, true).catch((err: unknown) => { throw networkError(err, what); });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      req.once("response", resolve);
      req.once("error", reject);
    }).catch((err: unknown) => { throw networkError(err, what); });
    if ((res.statusCode ?? 0) >= 300) throw statusError(res.statusCode ?? 0, await readAll(res).catch(() => ""), what);
    // A dead peer (an API server that vanished without closing) is noticed within seconds.
    res.socket?.setKeepAlive(true, 5_000);
    const ended = new Promise<void>((resolve, reject) => {
      let partial = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        const lines = (partial + chunk).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) onLine(line.replace(/\r$/, ""));
      });
      res.once("end", () => {
        if (partial) onLine(partial);
        resolve();
      });
      res.once("error", (err) => (signal?.aborted ? resolve() : reject(networkError(err, what))));
      res.once("aborted", () => (signal?.aborted ? resolve() : reject(new ClusterAccessError(`${what}: the connection was cut`))));
    });
    return { ended };
  }

  /** A WebSocket to the API server (pods/exec), with the kubeconfig's TLS and credentials. */
  async websocket(path: string, query: Query, protocol: string, what: string): Promise<Duplex> {
    const key = randomBytes(16).toString("base64");
    const req = await this.open("GET", path, { query }, true, {
      connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": key, "sec-websocket-protocol": protocol,
    }).catch((err: unknown) => { throw networkError(err, what); });
    return new Promise<Duplex>((resolve, reject) => {
      req.once("upgrade", (_res, socket: Duplex, head: Buffer) => {
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
      });
      req.once("response", (res: IncomingMessage) => void readAll(res).then((text) => reject(statusError(res.statusCode ?? 0, text, what)), reject));
      req.once("error", (err) => reject(networkError(err, what)));
    });
  }

}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    res.on("data", (c: Buffer) => parts.push(c));
    res.once("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    res.once("error", reject);
  });
}

/** The API server's Status body: what went wrong, in its words. */
export function statusError(status: number, text: string, what: string): Error {
  let body: { message?: string; reason?: string; details?: { causes?: ApiErrorCause[] } } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = { message: text.trim().split("\n")[0] || `HTTP ${status}` };
  }
  if (status === 401) return new ClusterAccessError(`${what}: the API server refused the credentials (401 Unauthorized)`);
  return new KubeApiError(`${what}: ${body.message ?? `HTTP ${status}`}`, status, body.reason, body.details?.causes ?? []);
}

export function networkError(err: unknown, what: string): Error {
  if (err instanceof KubeApiError || err instanceof ClusterAccessError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.name === "AbortError") return e;
  if (e?.code && NETWORK_CODES.test(e.code)) return new ClusterAccessError(`${what}: ${e.code}${e.message && !e.message.includes(e.code) ? ` (${e.message})` : ""}`);
  return err instanceof Error ? err : new Error(String(err));
}

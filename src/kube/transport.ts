import { randomBytes } from "node:crypto";
import type { Agent as HttpAgent, IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { connect as tlsConnect, createSecureContext, type ConnectionOptions, type TLSSocket } from "node:tls";
import type { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { ClusterAccess, Credentials } from "./kubeconfig.js";
import { openTunnel } from "./proxy.js";
import { ClusterAccessError, KubeApiError, type ApiErrorCause } from "./types.js";
import { backoffDelay, DEFAULT_BACKOFF } from "./watch.js";
import { handshakeFault } from "./websocket.js";
import { http } from "../base/node-http.js";

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
  /** Never tried again (a probe: its failure is the answer). */
  readonly once?: boolean;
}

const REQUEST_TIMEOUT_MS = 30_000;
/** The largest response body read whole (a list is paginated long before): beyond it the request fails, the process lives. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** The longest line of a watch or log stream: one object, or one log line. */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;
/** How often a request the API server could not serve (429, 502–504, a reset connection) is tried in all. */
const MAX_ATTEMPTS = 5;
const KEEPALIVE_MS = 5_000;
const NETWORK_CODES =
  /^(EPROXY|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET|EPIPE|EAI_AGAIN|ERR_TLS_CERT|CERT_|DEPTH_ZERO|UNABLE_TO_VERIFY|SELF_SIGNED|ERR_SSL|UND_ERR_SOCKET)/;

/**
 * HTTP to one API server over Node's own https: JSON requests on a small pool of kept-alive
 * connections, and long-lived streams (watches, logs, exec) on connections of their own, so a
 * dozen open watches never queue a request behind them.
 */
export class Transport {
  private agents: { requests: HttpAgent; streams: HttpAgent } | undefined;
  private agentsCert: Buffer | undefined;
  private readonly url: URL;

  constructor(private readonly access: ClusterAccess) {
    this.url = new URL(access.server);
  }

  private async prepare(): Promise<{ credentials: Credentials; agents: { requests: HttpAgent; streams: HttpAgent } }> {
    const credentials = await this.access.credentials();
    const cert = credentials.cert ?? this.access.tls.cert;
    // A plugin that hands out a new client certificate gets new connections; the old ones finish what they carry.
    if (!this.agents || this.agentsCert !== cert) {
      this.agentsCert = cert;
      this.agents = this.makeAgents(cert, credentials.key ?? this.access.tls.key);
    }
    return { credentials, agents: this.agents };
  }

  private makeAgents(cert: Buffer | undefined, key: Buffer | undefined): { requests: HttpAgent; streams: HttpAgent } {
    const { ca, rejectUnauthorized, servername } = this.access.tls;
    const https = this.url.protocol === "https:";
    // One TLS context for every connection: given the CA and key instead, Node parses them again for each.
    const secureContext = https ? createSecureContext({ ca, cert, key }) : undefined;
    const options = { keepAlive: true, secureContext, rejectUnauthorized, ...(servername ? { servername } : {}) };
    // The two pools resume one TLS session: a resumed handshake costs a fraction of a full one.
    const Agent = connectingAgent(https, this.access.proxy, https ? new TlsSessions() : undefined);
    // Four requests at a time: a burst such as the preflight's a dozen reads is over sooner on four
    // connections than on eight, each new one a handshake both ends pay for (measured: 141 against
    // 151 ms for a preflight; two were slower in the apply).
    return { requests: new Agent({ ...options, maxSockets: 4 }), streams: new Agent({ ...options, keepAlive: false }) };
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

  private async open(
    method: string,
    path: string,
    options: RequestOptions,
    stream: boolean,
    extraHeaders: Record<string, string> = {},
  ) {
    const { credentials, agents } = await this.prepare();
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string | string[]> = {
      accept: "application/json",
      ...(credentials.headers as Record<string, string | string[]>),
      ...extraHeaders,
    };
    if (body)
      Object.assign(headers, {
        "content-type": options.contentType ?? "application/json",
        "content-length": String(body.length),
      });
    const send = this.url.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send({
      protocol: this.url.protocol,
      hostname: this.url.hostname.replace(/^\[|\]$/g, ""),
      port: this.url.port || undefined,
      method,
      path: this.pathOf(path, options.query),
      headers,
      agent: stream ? agents.streams : agents.requests,
      ...(options.signal ? { signal: options.signal } : {}),
    }).end(body);
    return { req, credentials };
  }

  /**
   * A JSON request; an error status becomes a KubeApiError, an unreachable server a
   * ClusterAccessError. A 401 runs a credential plugin again, once. Requests that may be sent
   * twice (reads, dry runs, server-side apply) are retried when the API server is overloaded
   * (429, honouring Retry-After), unavailable for a moment (502–504) or the connection resets.
   */
  async request<T = unknown>(method: string, path: string, what: string, options: RequestOptions = {}): Promise<T> {
    const idempotent =
      !options.once &&
      (method === "GET" ||
        options.contentType === "application/apply-patch+yaml" ||
        options.query?.["dryRun"] !== undefined);
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      let outcome: Attempt<T>;
      try {
        outcome = await this.attempt<T>(method, path, what, options);
      } catch (err) {
        const e = networkError(err, what);
        if (
          !idempotent ||
          attempt >= MAX_ATTEMPTS ||
          options.signal?.aborted ||
          !RETRIED_NETWORK_CODES.test((err as NodeJS.ErrnoException)?.code ?? "")
        )
          throw e;
        await sleep(
          backoffDelay(attempt - 1, DEFAULT_BACKOFF),
          undefined,
          options.signal ? { signal: options.signal } : undefined,
        );
        continue;
      }
      if (outcome.status === 401 && !refreshed && outcome.credentials && this.access.refresh(outcome.credentials)) {
        refreshed = true;
        continue;
      }
      if (outcome.error && outcome.retryAfterMs === undefined) throw outcome.error;
      if (outcome.retryAfterMs === undefined) return outcome.value as T;
      const retryable = !options.once && (outcome.status === 429 || idempotent);
      if (!retryable || attempt >= MAX_ATTEMPTS) throw outcome.error!;
      await sleep(outcome.retryAfterMs, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }

  private async attempt<T>(method: string, path: string, what: string, options: RequestOptions): Promise<Attempt<T>> {
    const { req, credentials } = await this.open(method, path, options, false);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      req.setTimeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS, () =>
        req.destroy(Object.assign(new Error("no answer"), { code: "ETIMEDOUT" })),
      );
      req.once("response", resolve);
      req.once("error", reject);
    });
    const text = await readAll(res, what);
    const status = res.statusCode ?? 0;
    if (status === 401) return { status, credentials, error: statusError(status, text, what) };
    if (status === 429 || status === 502 || status === 503 || status === 504) {
      return { status, retryAfterMs: retryAfterMs(res.headers["retry-after"]), error: statusError(status, text, what) };
    }
    if (status >= 300) throw statusError(status, text, what);
    const type = res.headers["content-type"] ?? "";
    return { value: (type.includes("json") ? JSON.parse(text) : text) as T };
  }

  /**
   * A streaming GET (watch, follow): calls `onLine` per line until the server ends the stream or
   * it fails. Resolves once the response has started; `ended` settles when the stream does.
   */
  async stream(
    path: string,
    what: string,
    query: Query,
    onLine: (line: string) => void,
    signal?: AbortSignal,
  ): Promise<{ ended: Promise<void> }> {
    const { req } = await this.open("GET", path, { query, signal }, true).catch((err: unknown) => {
      throw networkError(err, what);
    });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      req.once("response", resolve);
      req.once("error", reject);
    }).catch((err: unknown) => {
      throw networkError(err, what);
    });
    if ((res.statusCode ?? 0) >= 300)
      throw statusError(res.statusCode ?? 0, await readAll(res, what).catch(() => ""), what);
    const ended = new Promise<void>((resolve, reject) => {
      let partial = "";
      // A line that cannot be taken (too long, not what the caller can read) fails this stream as a cut connection would, never the process.
      const fail = (message: string): void => {
        res.removeAllListeners("data");
        res.destroy();
        reject(new ClusterAccessError(`${what}: ${message}`));
      };
      const deliver = (line: string): boolean => {
        try {
          onLine(line.replace(/\r$/, ""));
          return true;
        } catch (err) {
          fail(`the API server sent a line that could not be read (${(err as Error).message.slice(0, 120)})`);
          return false;
        }
      };
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        const lines = (partial + chunk).split("\n");
        partial = lines.pop() ?? "";
        if (partial.length > MAX_LINE_BYTES) return fail(`a line of over ${MAX_LINE_BYTES / 1024 / 1024} MiB`);
        for (const line of lines) if (!deliver(line)) return;
      });
      res.once("end", () => {
        if (partial && !deliver(partial)) return;
        resolve();
      });
      res.once("error", (err) => (signal?.aborted ? resolve() : reject(networkError(err, what))));
      res.once("aborted", () =>
        signal?.aborted ? resolve() : reject(new ClusterAccessError(`${what}: the connection was cut`)),
      );
    });
    return { ended };
  }

  /**
   * A WebSocket to the API server (pods/exec), with the kubeconfig's TLS and credentials. The
   * server's answer must be a WebSocket handshake for our key and one of the protocols offered
   * (RFC 6455 4.1), within `connectTimeoutMs`; anything else fails this request with one line.
   */
  async websocket(
    path: string,
    query: Query,
    protocol: string,
    what: string,
    connectTimeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<{ socket: Duplex; protocol: string }> {
    const key = randomBytes(16).toString("base64");
    const { req } = await this.open("GET", path, { query }, true, {
      connection: "Upgrade",
      upgrade: "websocket",
      "sec-websocket-version": "13",
      "sec-websocket-key": key,
      "sec-websocket-protocol": protocol,
    }).catch((err: unknown) => {
      throw networkError(err, what);
    });
    return new Promise<{ socket: Duplex; protocol: string }>((resolve, reject) => {
      req.setTimeout(connectTimeoutMs, () =>
        req.destroy(Object.assign(new Error(`no answer within ${connectTimeoutMs / 1000} s`), { code: "ETIMEDOUT" })),
      );
      req.once("upgrade", (res: IncomingMessage, socket: Duplex, head: Buffer) => {
        const fault = handshakeFault(key, protocol, res.headers);
        if (fault) {
          socket.destroy();
          return reject(
            new KubeApiError(`${what}: the answer is not a WebSocket handshake: ${fault}`, 502, "ExecFailed"),
          );
        }
        // From here the exec stream's own heartbeat watches the connection.
        (socket as Socket).setTimeout?.(0);
        if (head.length > 0) socket.unshift(head);
        resolve({ socket, protocol: String(res.headers["sec-websocket-protocol"] ?? "") });
      });
      req.once(
        "response",
        (res: IncomingMessage) =>
          void readAll(res, what).then((text) => reject(statusError(res.statusCode ?? 0, text, what)), reject),
      );
      req.once("error", (err) => reject(networkError(err, what)));
    });
  }
}

function readAll(res: IncomingMessage, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    res.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        res.destroy();
        return reject(
          new ClusterAccessError(
            `${what}: the API server's answer is over ${MAX_BODY_BYTES / 1024 / 1024} MiB; this is more than the installer reads at once`,
          ),
        );
      }
      parts.push(c);
    });
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
  if (status === 401)
    return new ClusterAccessError(`${what}: the API server refused the credentials (401 Unauthorized)`);
  return new KubeApiError(
    `${what}: ${body.message ?? `HTTP ${status}`}`,
    status,
    body.reason,
    body.details?.causes ?? [],
  );
}

export function networkError(err: unknown, what: string): Error {
  if (err instanceof KubeApiError || err instanceof ClusterAccessError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.name === "AbortError") return e;
  if (e?.code && NETWORK_CODES.test(e.code))
    return new ClusterAccessError(
      `${what}: ${e.code}${e.message && !e.message.includes(e.code) ? ` (${e.message})` : ""}`,
    );
  return err instanceof Error ? err : new Error(String(err));
}

/** One try of a request: its value, or the error with what decides a second try (the status, when to retry, the credentials refused). */
interface Attempt<T> {
  readonly value?: T;
  readonly status?: number;
  readonly error?: Error;
  readonly retryAfterMs?: number;
  readonly credentials?: Credentials;
}

// A request that timed out is not tried again: 30 s more each time would hide an outage for minutes.
const RETRIED_NETWORK_CODES = /^(ECONNRESET|ECONNREFUSED|EPIPE|EAI_AGAIN)$/;

/** Retry-After in seconds (as the API server sends it) or an HTTP date; capped, so a wait stays bounded. */
function retryAfterMs(header: string | undefined): number {
  const seconds = Number(header);
  const ms =
    Number.isFinite(seconds) && header !== undefined && header !== ""
      ? seconds * 1000
      : header
        ? Date.parse(header) - Date.now()
        : Number.NaN;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 100), 30_000) : 1_000;
}

type AgentClass = new (options: Record<string, unknown>) => HttpAgent;

/** How long connections opened beside the first wait for its session: a handshake on a LAN takes about 10 ms. */
const FIRST_SESSION_WAIT_MS = 25;

/**
 * The TLS session of one API server, for every connection to it to resume. A run opens several
 * connections at once as it starts; those opened while the first one's handshake is under way
 * wait for its session (bounded: on a distant server they go ahead in parallel), so the burst
 * costs one full handshake instead of one per connection.
 */
class TlsSessions {
  private session: Buffer | undefined;
  private first: Promise<void> | undefined;

  /**
   * Opens a connection with `connect`, resuming the known session: at once (returned), or once the
   * first connection has its session (given to `done`).
   */
  open(connect: (session: Buffer | undefined) => TLSSocket, done: (socket: TLSSocket) => void): TLSSocket | undefined {
    if (this.session || !this.first) return this.tracked(connect(this.session));
    void this.first.then(() => done(this.tracked(connect(this.session))));
    return undefined;
  }

  private tracked(socket: TLSSocket): TLSSocket {
    socket.on("session", (session: Buffer) => {
      this.session = session;
    });
    if (!this.session && !this.first) {
      this.first = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FIRST_SESSION_WAIT_MS);
        timer.unref();
        for (const event of ["session", "close", "error"]) socket.once(event, () => resolve());
      });
    }
    return socket;
  }
}

/**
 * An Agent whose every connection has TCP keepalive (a vanished API server is noticed within
 * seconds) and, with a proxy, goes through its tunnel; TLS to the API server runs inside it and
 * resumes the server's session.
 */
function connectingAgent(https: boolean, proxy: URL | undefined, sessions: TlsSessions | undefined): AgentClass {
  const Base = (https ? HttpsAgent : http.Agent) as unknown as AgentClass;
  const direct = (agent: HttpAgent, options: ConnectionOptions): Socket =>
    (Base.prototype as unknown as { createConnection(o: unknown): Socket }).createConnection.call(agent, options);
  return class extends Base {
    override createConnection(
      options: ConnectionOptions & { host: string; port: number },
      done?: (err: Error | null, socket: Socket) => void,
    ): Socket | undefined {
      const connect =
        (tunnelled: Socket | undefined) =>
        (session: Buffer | undefined): TLSSocket => {
          const resumed = session ? { ...options, session } : options;
          return tunnelled
            ? tlsConnect({ ...resumed, socket: tunnelled })
            : (withKeepAlive(direct(this, resumed)) as TLSSocket);
        };
      // A socket returned here counts against maxSockets at once; one given to `done` later does not.
      if (!proxy)
        return sessions
          ? sessions.open(connect(undefined), (tls) => done!(null, tls))
          : withKeepAlive(direct(this, options));
      openTunnel(proxy, options.host, Number(options.port)).then(
        (tunnel) => {
          withKeepAlive(tunnel);
          if (!sessions) return done!(null, tunnel);
          const now = sessions.open(connect(tunnel), (tls) => done!(null, tls));
          if (now) done!(null, now);
        },
        (err: Error) => done!(err, undefined as unknown as Socket),
      );
      return undefined;
    }
  } as unknown as AgentClass;
}

function withKeepAlive(socket: Socket): Socket {
  socket.setKeepAlive(true, KEEPALIVE_MS);
  return socket;
}

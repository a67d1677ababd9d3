// The client's HTTP transport against a scripted local server: which answers are retried and which
// are not, Retry-After honoured, a stream's lines whole however its chunks fall, and every failure
// one line naming the request. (The real API server is the end-to-end tests'.)
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { resolveAccess } from "../../src/kube/kubeconfig.js";
import { Transport } from "../../src/kube/transport.js";
import { KubeApiError } from "../../src/kube/types.js";
import { kubeconfigText } from "../helpers/kubeconfig.js";

/** What the server answers to the nth request it gets (from 0); the requests it got, in order. */
type Answer = (res: ServerResponse, req: IncomingMessage, n: number) => void;

describe("the transport against a scripted server", () => {
  let server: Server;
  let answer: Answer = (res) => res.writeHead(200, { "content-type": "application/json" }).end("{}");
  let seen: string[] = [];
  let dir: string;
  let transport: Transport;

  before(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      answer(res, req, seen.length - 1);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    dir = mkdtempSync(join(tmpdir(), "transport-"));
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfig,
      kubeconfigText({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, {}),
    );
    transport = new Transport(resolveAccess({ kubeconfig, env: {} }));
  });
  beforeEach(() => {
    seen = [];
  });
  after(() => {
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
  const status = (code: number, message: string) => ({ kind: "Status", code, message });

  it("a read the server is too busy for (429) is sent again after its Retry-After, and answered", async () => {
    answer = (res, _req, n) =>
      n === 0 ? json(res, 429, status(429, "too many requests"), { "retry-after": "0" }) : json(res, 200, { ok: n });
    const value = await transport.request<{ ok: number }>("GET", "/api/v1/namespaces/x", "reading x");
    assert.deepEqual(value, { ok: 1 });
    assert.deepEqual(seen, ["GET /api/v1/namespaces/x", "GET /api/v1/namespaces/x"]);
  });

  it("a read during a moment of unavailability (503) is retried; a write that may not be sent twice is not", async () => {
    answer = (res, _req, n) =>
      n === 0 ? json(res, 503, status(503, "unavailable"), { "retry-after": "0" }) : json(res, 200, { n });
    assert.deepEqual(await transport.request("GET", "/api/v1/pods", "listing pods"), { n: 1 });
    seen = [];
    answer = (res) => json(res, 503, status(503, "unavailable"), { "retry-after": "0" });
    await assert.rejects(
      transport.request("POST", "/api/v1/namespaces/x/pods", "creating a pod", { body: {} }),
      (err: unknown) => err instanceof KubeApiError && err.status === 503,
    );
    assert.equal(seen.length, 1, "a create is sent once");
  });

  it("an answer that keeps failing is given up after a bounded number of tries, with the server's words", async () => {
    answer = (res) => json(res, 429, status(429, "slow down"), { "retry-after": "0" });
    await assert.rejects(transport.request("GET", "/api/v1/pods", "listing pods"), /slow down/);
    assert.ok(seen.length > 1 && seen.length <= 5, `${seen.length} tries`);
  });

  it("an error status is a KubeApiError with its status and reason, never a retry", async () => {
    answer = (res) => json(res, 404, { ...status(404, 'namespaces "x" not found'), reason: "NotFound" });
    await assert.rejects(
      transport.request("GET", "/api/v1/namespaces/x", "reading x"),
      (err: unknown) => err instanceof KubeApiError && err.status === 404 && /not found/.test(err.message),
    );
    assert.equal(seen.length, 1);
  });

  it("a read whose connection is cut is sent again; the query is the one asked for", async () => {
    answer = (res, _req, n) => (n === 0 ? res.socket?.destroy() : json(res, 200, { items: [] }));
    const value = await transport.request("GET", "/api/v1/pods", "listing pods", {
      query: { labelSelector: "a=b", limit: 5 },
    });
    assert.deepEqual(value, { items: [] });
    assert.deepEqual(seen, [
      "GET /api/v1/pods?labelSelector=a%3Db&limit=5",
      "GET /api/v1/pods?labelSelector=a%3Db&limit=5",
    ]);
  });

  it("a stream's lines arrive whole, however the chunks split them", async () => {
    answer = (res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const text = '{"type":"ADDED","n":1}\n{"type":"MODIFIED","n":2}\n{"type":"DELETED","n":3}\n';
      let i = 0;
      const next = () => {
        if (i >= text.length) return void res.end();
        res.write(text.slice(i, i + 7));
        i += 7;
        setImmediate(next);
      };
      next();
    };
    const lines: string[] = [];
    const { ended } = await transport.stream("/api/v1/pods", "watching pods", { watch: true }, (l) => lines.push(l));
    await ended;
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).type),
      ["ADDED", "MODIFIED", "DELETED"],
    );
  });
});

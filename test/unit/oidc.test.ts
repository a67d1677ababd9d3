import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { resolveAccess } from "../../src/kube/kubeconfig.js";
import { idTokenValid } from "../../src/kube/oidc.js";
import { makeTestCa, type TestCa } from "../helpers/standins.js";

/** An unsigned JWT with the given expiry (the installer, like kubectl, only reads `exp`). */
const jwt = (expS: number, sub = "jane") =>
  `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ sub, exp: expS })).toString("base64url")}.sig`;
const now = () => Math.floor(Date.now() / 1000);

describe("the legacy oidc auth-provider, as kubectl runs it", () => {
  let ca: TestCa;
  let server: Server;
  let issuer: string;
  const seen: { path: string; body: string; authorization?: string }[] = [];
  let next = { id: jwt(now() + 3600, "fresh"), refresh: "rt-2" as string | undefined };

  before(async () => {
    ca = makeTestCa();
    const pem = ca.issue("issuer", ["localhost"], 2);
    server = createServer({ cert: readFileSync(pem.cert), key: readFileSync(pem.key) }, (req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString();
      });
      req.on("end", () => {
        seen.push({
          path: req.url ?? "",
          body,
          ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        });
        res.setHeader("content-type", "application/json");
        if (req.url === "/.well-known/openid-configuration")
          return res.end(JSON.stringify({ issuer, token_endpoint: `${issuer}/token` }));
        if (req.url === "/token")
          return res.end(
            JSON.stringify({
              access_token: "a",
              token_type: "Bearer",
              id_token: next.id,
              ...(next.refresh ? { refresh_token: next.refresh } : {}),
            }),
          );
        res.statusCode = 404;
        res.end("{}");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    issuer = `https://localhost:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server?.close();
    ca?.remove();
  });

  function kubeconfig(config: Record<string, string>): string {
    const path = join(ca.dir, `kubeconfig-${seen.length}-${Math.random().toString(36).slice(2)}`);
    writeFileSync(
      path,
      `# the user's own kubeconfig: comments and layout stay
apiVersion: v1
kind: Config
current-context: c
clusters: [{name: k, cluster: {server: "https://api.example:6443"}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users:
- name: u
  user:
    auth-provider:
      name: oidc
      config: ${JSON.stringify({ "idp-issuer-url": issuer, "client-id": "kube", "client-secret": "s3cret", "idp-certificate-authority": ca.caFile, ...config })}
`,
      { mode: 0o600 },
    );
    return path;
  }

  it("a valid id-token is used as it is: nothing asked of the issuer", async () => {
    const token = jwt(now() + 600);
    const before = seen.length;
    const access = resolveAccess({ kubeconfig: kubeconfig({ "id-token": token, "refresh-token": "rt-1" }) });
    assert.equal((await access.credentials()).headers["authorization"], `Bearer ${token}`);
    assert.equal(seen.length, before);
  });

  it("an expired id-token is refreshed at the issuer's token endpoint, and both tokens are written back to the kubeconfig, keeping its mode and comments", async () => {
    next = { id: jwt(now() + 3600, "fresh"), refresh: "rt-2" };
    const path = kubeconfig({ "id-token": jwt(now() - 60), "refresh-token": "rt-1" });
    const access = resolveAccess({ kubeconfig: path });
    const [a, b] = await Promise.all([access.credentials(), access.credentials()]);
    assert.equal(a.headers["authorization"], `Bearer ${next.id}`);
    assert.equal(b.headers["authorization"], `Bearer ${next.id}`);
    const token = seen.filter((s) => s.path === "/token");
    assert.equal(token.length, 1, "one refresh for concurrent requests");
    assert.deepEqual(Object.fromEntries(new URLSearchParams(token[0]!.body)), {
      grant_type: "refresh_token",
      refresh_token: "rt-1",
    });
    assert.equal(token[0]!.authorization, `Basic ${Buffer.from("kube:s3cret").toString("base64")}`);
    const written = readFileSync(path, "utf8");
    assert.match(written, /^# the user's own kubeconfig: comments and layout stay/);
    const config = parseYaml(written).users[0].user["auth-provider"].config;
    assert.equal(config["id-token"], next.id);
    assert.equal(config["refresh-token"], "rt-2", "the rotated refresh token is kept");
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  it("expired and nothing to refresh with: a clear error; a token that is not a JWT is refused as kubectl refuses it", async () => {
    await assert.rejects(
      resolveAccess({ kubeconfig: kubeconfig({ "id-token": jwt(now() - 60) }) }).credentials(),
      /no valid id-token and no refresh-token: log in again/,
    );
    assert.throws(() => idTokenValid("not-a-jwt"), /id-token is not a JWT/);
    assert.equal(idTokenValid(jwt(now() + 5)), false, "within kubectl's 10 s margin: expired");
  });
});

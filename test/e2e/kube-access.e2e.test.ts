// kubectl as the oracle for how a kubeconfig is read: the test cluster's own kubectl and the
// installer's client are pointed at the same kubeconfig and a recording HTTPS endpoint, and
// must send the same identity (Authorization, Impersonate-*, client certificate), the same SNI,
// through the same route (direct, an HTTP CONNECT proxy, a SOCKS5 proxy).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { connect } from "../../src/kube/client.js";
import { testCluster, type TestCluster } from "../helpers/cluster.js";
import {
  startConnectProxy,
  startRecorder,
  startSocksProxy,
  type ProxyStandIn,
  type Recorded,
  type Recorder,
} from "../helpers/recorder.js";
import { makeTestCa, type TestCa } from "../helpers/standins.js";

const { cluster, skip } = testCluster();

interface Route {
  readonly request: Recorded | undefined;
  readonly tunnels: readonly string[];
  readonly error?: string;
}

/** The identity a request carried: what an API server authenticates and authorizes. */
function identity(r: Recorded | undefined) {
  if (!r) return undefined;
  const headers = Object.fromEntries(
    Object.entries(r.headers)
      .filter(([k]) => k === "authorization" || k.startsWith("impersonate-"))
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : v]),
  );
  return { headers, sni: r.sni, clientCn: r.clientCn };
}

describe("kubeconfigs as kubectl reads them (kubectl is the oracle)", { skip }, () => {
  let ca: TestCa;
  let recorder: Recorder;
  let connectProxy: ProxyStandIn;
  let socksProxy: ProxyStandIn;
  let client: { cert: string; key: string };
  let dir: string;
  let n = 0;

  before(async () => {
    ca = makeTestCa();
    dir = ca.dir;
    const server = ca.issue("apiserver", ["kubernetes.test", "localhost", "tls-name.test"], 2);
    client = ca.issue("client-jane", ["jane"], 2);
    recorder = await startRecorder({
      cert: readFileSync(server.cert),
      key: readFileSync(server.key),
      ca: readFileSync(ca.caFile),
    });
    connectProxy = await startConnectProxy(recorder.port);
    socksProxy = await startSocksProxy(recorder.port);
  });
  after(async () => {
    await recorder?.close();
    await connectProxy?.close();
    await socksProxy?.close();
    ca?.remove();
  });

  function kubeconfig(clusterFields: Record<string, unknown>, user: Record<string, unknown>): string {
    const path = join(dir, `kubeconfig-${++n}`);
    writeFileSync(
      path,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        "current-context": "c",
        clusters: [
          {
            name: "k",
            cluster: {
              server: `https://localhost:${recorder.port}`,
              "certificate-authority": ca.caFile,
              ...clusterFields,
            },
          },
        ],
        users: [{ name: "u", user }],
        contexts: [{ name: "c", context: { cluster: "k", user: "u" } }],
      }),
    );
    return path;
  }

  /** What one client sent: the request the recorder saw and the tunnels the proxies opened. */
  async function observe(go: () => Promise<string | undefined>): Promise<Route> {
    const requests = recorder.requests.length;
    const tunnels = connectProxy.tunnels.length + socksProxy.tunnels.length;
    const error = await go();
    const seen = recorder.requests.slice(requests);
    return {
      request: seen.at(-1),
      tunnels: [...connectProxy.tunnels, ...socksProxy.tunnels].slice(tunnels),
      ...(error ? { error } : {}),
    };
  }

  function viaKubectl(c: TestCluster, path: string, env: Record<string, string>): Promise<Route> {
    return observe(
      () =>
        new Promise((resolve) => {
          const child = spawn(join(c.binDir, "kubectl"), ["--kubeconfig", path, "get", "--raw", "/version"], {
            env: { PATH: process.env["PATH"] ?? "", HOME: dir, ...env },
            stdio: ["ignore", "pipe", "pipe"],
          });
          const err: Buffer[] = [];
          child.stderr.on("data", (b: Buffer) => err.push(b));
          child.on("close", (code) =>
            resolve(code === 0 ? undefined : Buffer.concat(err).toString().trim() || `exit ${code}`),
          );
        }),
    );
  }

  function viaInstaller(path: string, env: Record<string, string>): Promise<Route> {
    return observe(async () => {
      try {
        await connect({ kubeconfig: path, env }).serverVersion();
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    });
  }

  async function same(
    clusterFields: Record<string, unknown>,
    user: Record<string, unknown>,
    env: Record<string, string> = {},
  ): Promise<Route> {
    const path = kubeconfig(clusterFields, user);
    const theirs = await viaKubectl(cluster!, path, env);
    const ours = await viaInstaller(path, env);
    assert.equal(theirs.error, undefined, `kubectl failed: ${theirs.error}`);
    assert.equal(ours.error, undefined, `the installer failed: ${ours.error}`);
    assert.deepEqual(identity(ours.request), identity(theirs.request), "same identity and SNI as kubectl");
    assert.deepEqual(ours.tunnels, theirs.tunnels, "same route as kubectl");
    return ours;
  }

  function plugin(
    name: string,
    status: Record<string, unknown>,
    apiVersion = "client.authentication.k8s.io/v1",
  ): { command: string; info: string } {
    const command = join(dir, `${name}.sh`);
    const info = join(dir, `${name}.info`);
    writeFileSync(
      command,
      `#!/bin/sh\nprintf '%s' "$KUBERNETES_EXEC_INFO" > "${info}"\ncat <<'JSON'\n${JSON.stringify({ apiVersion, kind: "ExecCredential", status })}\nJSON\n`,
    );
    chmodSync(command, 0o755);
    return { command, info };
  }

  it("a bearer token and a token file", async () => {
    const route = await same({}, { token: "tok-static" });
    assert.equal(route.request?.headers["authorization"], "Bearer tok-static");
    const file = join(dir, "token");
    writeFileSync(file, "tok-from-file\n");
    await same({}, { tokenFile: file });
  });

  it("a client certificate as files and as data", async () => {
    const route = await same({}, { "client-certificate": client.cert, "client-key": client.key });
    assert.equal(route.request?.clientCn, "jane");
    await same(
      {},
      {
        "client-certificate-data": readFileSync(client.cert).toString("base64"),
        "client-key-data": readFileSync(client.key).toString("base64"),
      },
    );
  });

  it("a burst of requests costs one full TLS handshake: the other connections resume its session, with its client certificate", async () => {
    const path = kubeconfig({}, { "client-certificate": client.cert, "client-key": client.key });
    const kube = connect({ kubeconfig: path, env: {} });
    const first = recorder.requests.length;
    await Promise.all(Array.from({ length: 6 }, () => kube.serverVersion()));
    const seen = recorder.requests.slice(first);
    const connections = new Map(seen.map((r) => [r.connection, r.resumed]));
    assert.ok(connections.size > 1, `the burst used more than one connection (${connections.size})`);
    assert.deepEqual(
      [...connections.values()].filter((resumed) => !resumed),
      [false],
      "one full handshake",
    );
    assert.ok(
      seen.every((r) => r.clientCn === "jane"),
      "every request, on a resumed connection too, carries the client certificate",
    );
  });

  it("basic auth", async () => {
    const route = await same({}, { username: "admin", password: "s3cret" });
    assert.equal(route.request?.headers["authorization"], `Basic ${Buffer.from("admin:s3cret").toString("base64")}`);
  });

  it("impersonation: as, as-groups, as-uid and as-user-extra", async () => {
    const route = await same(
      {},
      {
        token: "t",
        as: "jane",
        "as-uid": "1234",
        "as-groups": ["dev", "ops"],
        "as-user-extra": { "acme.com/project": ["p1", "p2"], scopes: ["view"] },
      },
    );
    assert.equal(route.request?.headers["impersonate-user"], "jane");
    assert.equal(route.request?.headers["impersonate-group"], "dev, ops");
    assert.equal(route.request?.headers["impersonate-extra-acme.com%2fproject"], "p1, p2");
  });

  it("tls-server-name sets the SNI and the name checked", async () => {
    const route = await same(
      { server: `https://127.0.0.1:${recorder.port}`, "tls-server-name": "tls-name.test" },
      { token: "t" },
    );
    assert.equal(route.request?.sni, "tls-name.test");
  });

  it("exec plugins, v1 and v1beta1, with provideClusterInfo: the same token and the same KUBERNETES_EXEC_INFO", async () => {
    const v1 = plugin("exec-v1", { token: "tok-exec" });
    const path = kubeconfig(
      { extensions: [{ name: "client.authentication.k8s.io/exec", extension: { audience: "mathison" } }] },
      {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: v1.command,
          interactiveMode: "Never",
          provideClusterInfo: true,
        },
      },
    );
    const theirs = await viaKubectl(cluster!, path, {});
    const theirInfo = JSON.parse(readFileSync(v1.info, "utf8"));
    const ours = await viaInstaller(path, {});
    const ourInfo = JSON.parse(readFileSync(v1.info, "utf8"));
    assert.equal(theirs.error, undefined, theirs.error);
    assert.deepEqual(identity(ours.request), identity(theirs.request));
    assert.deepEqual(ourInfo, theirInfo, "KUBERNETES_EXEC_INFO as kubectl sends it");
    assert.equal(ourInfo.spec.cluster.config.audience, "mathison");

    const beta = plugin("exec-v1beta1", { token: "tok-beta" }, "client.authentication.k8s.io/v1beta1");
    await same({}, { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: beta.command } });
    assert.deepEqual(
      JSON.parse(readFileSync(beta.info, "utf8")).spec,
      { interactive: false },
      "no cluster info unless asked for",
    );
  });

  it("an exec plugin that prints a client certificate", async () => {
    const certPlugin = plugin("exec-cert", {
      clientCertificateData: readFileSync(client.cert, "utf8"),
      clientKeyData: readFileSync(client.key, "utf8"),
    });
    const route = await same(
      {},
      {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: certPlugin.command,
          interactiveMode: "IfAvailable",
        },
      },
    );
    assert.equal(route.request?.clientCn, "jane");
  });

  it("proxy-url: http CONNECT and socks5", async () => {
    const http = await same(
      { server: `https://kubernetes.test:${recorder.port}`, "proxy-url": `http://127.0.0.1:${connectProxy.port}` },
      { token: "t" },
    );
    assert.deepEqual(http.tunnels, [`kubernetes.test:${recorder.port}`]);
    assert.equal(http.request?.sni, "kubernetes.test");
    const socks = await same(
      { server: `https://kubernetes.test:${recorder.port}`, "proxy-url": `socks5://127.0.0.1:${socksProxy.port}` },
      { token: "t" },
    );
    assert.deepEqual(socks.tunnels, [`kubernetes.test:${recorder.port}`]);
  });

  it("HTTPS_PROXY, and NO_PROXY exempting the server (then both connect directly)", async () => {
    const proxied = await same(
      { server: `https://kubernetes.test:${recorder.port}` },
      { token: "t" },
      { HTTPS_PROXY: `http://127.0.0.1:${connectProxy.port}` },
    );
    assert.deepEqual(proxied.tunnels, [`kubernetes.test:${recorder.port}`]);
    const direct = await same(
      {},
      { token: "t" },
      { HTTPS_PROXY: `http://127.0.0.1:${connectProxy.port}`, NO_PROXY: "localhost" },
    );
    assert.deepEqual(direct.tunnels, [], "localhost is never proxied by the environment");
    // kubernetes.test resolves nowhere: exempted from the proxy, both fail to connect, and neither goes through it.
    const path = kubeconfig({ server: `https://kubernetes.test:${recorder.port}` }, { token: "t" });
    const env = { HTTPS_PROXY: `http://127.0.0.1:${connectProxy.port}`, NO_PROXY: ".test" };
    const theirs = await viaKubectl(cluster!, path, env);
    const ours = await viaInstaller(path, env);
    assert.ok(theirs.error && ours.error, "both fail to resolve kubernetes.test directly");
    assert.deepEqual([theirs.tunnels, ours.tunnels], [[], []]);
  });

  it("a 401 runs the exec plugin again, once, and the request goes through (kubectl does the same)", async () => {
    const counter = join(dir, "runs");
    writeFileSync(counter, "");
    const command = join(dir, "exec-counting.sh");
    writeFileSync(
      command,
      `#!/bin/sh\necho run >> "${counter}"\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-fresh"}}'\n`,
    );
    chmodSync(command, 0o755);
    const path = kubeconfig(
      {},
      { exec: { apiVersion: "client.authentication.k8s.io/v1", command, interactiveMode: "Never" } },
    );
    recorder.refuseNext(1);
    const ours = await viaInstaller(path, {});
    assert.equal(ours.error, undefined, ours.error);
    assert.equal(readFileSync(counter, "utf8").trim().split("\n").length, 2, "ran once, refused, ran again");
  });

  it("the oidc auth-provider with an expired id-token: both refresh at the issuer, send the new token, and write the same tokens back", async () => {
    const jwt = (exp: number, sub: string) =>
      `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ sub, exp })).toString("base64url")}.sig`;
    const fresh = jwt(Math.floor(Date.now() / 1000) + 3600, "fresh");
    const pem = ca.issue("issuer", ["localhost"], 2);
    const issuer = createHttpsServer({ cert: readFileSync(pem.cert), key: readFileSync(pem.key) }, (req, res) => {
      req.resume();
      req.on("end", () => {
        res.setHeader("content-type", "application/json");
        const base = `https://localhost:${(issuer.address() as AddressInfo).port}`;
        if (req.url === "/.well-known/openid-configuration")
          return res.end(JSON.stringify({ issuer: base, token_endpoint: `${base}/token` }));
        res.end(
          JSON.stringify({
            access_token: "a",
            token_type: "Bearer",
            expires_in: 3600,
            id_token: fresh,
            refresh_token: "rt-rotated",
          }),
        );
      });
    });
    await new Promise<void>((r) => issuer.listen(0, "127.0.0.1", () => r()));
    try {
      const config = {
        "idp-issuer-url": `https://localhost:${(issuer.address() as AddressInfo).port}`,
        "client-id": "kube",
        "client-secret": "s3cret",
        "idp-certificate-authority": ca.caFile,
        "id-token": jwt(Math.floor(Date.now() / 1000) - 60, "old"),
        "refresh-token": "rt-1",
      };
      const theirsPath = kubeconfig({}, { "auth-provider": { name: "oidc", config } });
      const oursPath = kubeconfig({}, { "auth-provider": { name: "oidc", config } });
      const theirs = await viaKubectl(cluster!, theirsPath, {});
      const ours = await viaInstaller(oursPath, {});
      assert.equal(theirs.error, undefined, theirs.error);
      assert.equal(ours.error, undefined, ours.error);
      assert.equal(ours.request?.headers["authorization"], `Bearer ${fresh}`);
      assert.deepEqual(identity(ours.request), identity(theirs.request));
      const written = (path: string) => {
        const c = JSON.parse(JSON.stringify(parseYaml(readFileSync(path, "utf8")))).users[0].user["auth-provider"]
          .config;
        return [c["id-token"], c["refresh-token"]];
      };
      assert.deepEqual(written(oursPath), written(theirsPath), "the same tokens persisted as kubectl persists them");
    } finally {
      issuer.close();
    }
  });

  it("NO_PROXY as kubectl reads it: wildcards, leading dots, ports, IPs, CIDRs, IPv6, loopback (a table of 240 cases)", async () => {
    // In a network namespace of its own: the direct connections kubectl tries go nowhere.
    const oracle = join(import.meta.dirname, "..", "helpers", "no-proxy-oracle.js");
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        "unshare",
        [
          "--net",
          "sh",
          "-c",
          'ip link set lo up && exec "$0" "$1" "$2"',
          process.execPath,
          oracle,
          join(cluster!.binDir, "kubectl"),
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      const o: Buffer[] = [];
      const e: Buffer[] = [];
      child.stdout.on("data", (b: Buffer) => o.push(b));
      child.stderr.on("data", (b: Buffer) => e.push(b));
      child.on("close", (code) =>
        resolve({ code, stdout: Buffer.concat(o).toString(), stderr: Buffer.concat(e).toString() }),
      );
    });
    assert.equal(out.code, 0, out.stderr);
    const rows = JSON.parse(out.stdout) as { noProxy: string; server: string; kubectl: boolean; ours: boolean }[];
    assert.equal(rows.length, 240);
    assert.ok(rows.some((r) => r.kubectl) && rows.some((r) => !r.kubectl), "kubectl proxied some and not others");
    const differ = rows.filter((r) => r.kubectl !== r.ours);
    assert.deepEqual(
      differ.map(
        (r) =>
          `NO_PROXY=${JSON.stringify(r.noProxy)} ${r.server}: kubectl ${r.kubectl ? "proxies" : "connects directly"}`,
      ),
      [],
    );
  });
});

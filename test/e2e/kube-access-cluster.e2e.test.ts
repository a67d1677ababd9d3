// Kube access on the real test cluster: an install through a kubeconfig's proxy-url, an install
// as an impersonated user with less power (refused by the preflight, nothing applied), an API
// server that answers 429 to some requests, and a credential plugin that never answers.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest, createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { adminAccess, derivedKubeconfig, kubectl, testCluster, type TestCluster } from "../helpers/cluster.js";
import { freshNamespaces, installArgs, runInstaller } from "../helpers/install.js";
import { streamExec } from "../../src/kube/exec-stream.js";
import { resolveAccess } from "../../src/kube/kubeconfig.js";
import { Transport } from "../../src/kube/transport.js";
import { startConnectProxy, type ProxyStandIn } from "../helpers/recorder.js";
import { makeTestCa, type TestCa } from "../helpers/standins.js";

const { cluster, skip } = testCluster();

/**
 * A TLS-terminating relay in front of the API server that answers every `every`-th request
 * (watches aside) with 429 Too Many Requests and Retry-After, as API Priority and Fairness does
 * under load; the others it forwards with the admin's client certificate.
 */
async function startThrottlingRelay(
  c: TestCluster,
  ca: TestCa,
  every: number,
): Promise<{ port: number; throttled: () => number; close(): Promise<void> }> {
  const a = adminAccess(c);
  const upstream = new URL(a.server);
  const pem = ca.issue("relay", ["localhost"], 2);
  let count = 0;
  let throttled = 0;
  const forwards = new Set<{ destroy(): void }>();
  const server: Server = createServer({ cert: readFileSync(pem.cert), key: readFileSync(pem.key) }, (req, res) => {
    const watch = /[?&]watch=(1|true)/.test(req.url ?? "") || /[?&]follow=true/.test(req.url ?? "");
    if (!watch && ++count % every === 0) {
      throttled++;
      res.writeHead(429, { "content-type": "application/json", "retry-after": "1" });
      res.end(
        JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          message: "Too many requests, please try again later.",
          reason: "TooManyRequests",
          code: 429,
        }),
      );
      req.resume();
      return;
    }
    const { host: _host, ...headers } = req.headers;
    const forward = httpsRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers,
        ca: readFileSync(a.ca),
        cert: readFileSync(a.cert),
        key: readFileSync(a.key),
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        // As the API server does: a watch's headers go out at once, before its first event.
        res.flushHeaders();
        up.pipe(res);
      },
    );
    forwards.add(forward);
    forward.on("close", () => forwards.delete(forward));
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    throttled: () => throttled,
    close: () =>
      new Promise<void>((resolve) => {
        for (const f of forwards) f.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("kube access on the test cluster", { skip }, () => {
  const c = cluster!;
  const fresh = freshNamespaces(c);
  let proxy: ProxyStandIn;
  let ca: TestCa;
  before(async () => {
    proxy = await startConnectProxy(undefined);
    ca = makeTestCa();
  });
  after(async () => {
    await proxy?.close();
    ca?.remove();
    await kubectl(c, ["delete", "clusterrolebinding", "mathison-e2e-impersonator", "--ignore-not-found"]);
  });

  it("installs through the kubeconfig's proxy-url: every connection goes through the proxy", async () => {
    const namespace = fresh("e2e-proxy");
    const kubeconfig = derivedKubeconfig(c, { "proxy-url": `http://127.0.0.1:${proxy.port}` }, {});
    const before = proxy.tunnels.length;
    const run = await runInstaller(c, installArgs(namespace, "--tls", "none", "--kubeconfig", kubeconfig));
    assert.equal(run.code, 0, run.stderr);
    const port = new URL(adminAccess(c).server).port;
    const tunnels = proxy.tunnels.slice(before);
    assert.ok(tunnels.length >= 2, `requests and watches went through the proxy (${tunnels.length} tunnels)`);
    assert.ok(
      tunnels.every((t) => t === `127.0.0.1:${port}`),
      tunnels.join(", "),
    );
  });

  it("as: a user with admin rights in one namespace only: the preflight lists every missing permission and nothing is applied", async () => {
    const namespace = fresh("e2e-as");
    const user = `mathison-e2e-nsadmin-${namespace}`;
    assert.equal((await kubectl(c, ["create", "namespace", namespace])).code, 0);
    assert.equal(
      (await kubectl(c, ["-n", namespace, "create", "rolebinding", "nsadmin", "--clusterrole=admin", `--user=${user}`]))
        .code,
      0,
    );
    const kubeconfig = derivedKubeconfig(c, {}, { as: user });
    // kubectl, as the oracle: the impersonated user may not create a ClusterRole.
    const theirs = await kubectl(c, ["--kubeconfig", kubeconfig, "auth", "can-i", "create", "clusterroles"]);
    assert.equal(theirs.stdout.trim(), "no");
    const run = await runInstaller(c, installArgs(namespace, "--tls", "none", "--kubeconfig", kubeconfig));
    assert.equal(run.code, 9, run.stderr);
    const perms = run.events.find((e) => e.event === "check" && e.id === "permissions");
    assert.equal(perms.status, "fail");
    for (const missing of [
      "create clusterroles.rbac.authorization.k8s.io",
      "create clusterrolebindings.rbac.authorization.k8s.io",
      "patch namespaces",
    ]) {
      assert.ok(perms.message.includes(missing), `names ${missing}: ${perms.message}`);
    }
    const left = await kubectl(c, [
      "-n",
      namespace,
      "get",
      "deployment,statefulset,secret,configmap/mathison-install",
      "-o",
      "name",
      "--ignore-not-found",
    ]);
    assert.equal(left.stdout.trim(), "", "nothing applied");
  });

  it("a user who may read nothing: status says a permission is missing (exit 9), not that the cluster is unreachable", async () => {
    const kubeconfig = derivedKubeconfig(c, {}, { as: "mathison-e2e-nobody" });
    const run = await runInstaller(c, ["status", "--namespace", fresh("e2e-nobody"), "--kubeconfig", kubeconfig]);
    assert.equal(run.code, 9, run.stderr);
    assert.match(run.stderr, /^mathison-install: the cluster refused a read these credentials need: .*forbidden/m);
    assert.match(run.stderr, /try: kubectl auth can-i --list -n e2e-nobody-\w+ with the same --kubeconfig\/--context/);
    // The permissions it lacks, as the preflight names them.
    assert.match(
      run.stderr.replace(/\s+/g, " "),
      /missing: get namespaces; get configmaps in e2e-nobody-\w+; get secrets in e2e-nobody-\w+; get leases\.coordination\.k8s\.io in e2e-nobody-\w+/,
    );
    assert.doesNotMatch(run.stderr, /cannot reach the cluster/);
  });

  it("an API server answering 429 with Retry-After to every fifth request: the install completes", async () => {
    const namespace = fresh("e2e-429");
    const relay = await startThrottlingRelay(c, ca, 5);
    try {
      const kubeconfig = derivedKubeconfig(
        c,
        { server: `https://localhost:${relay.port}`, "certificate-authority": ca.caFile },
        {},
      );
      const run = await runInstaller(c, installArgs(namespace, "--tls", "none", "--kubeconfig", kubeconfig));
      assert.equal(run.code, 0, run.stderr);
      assert.ok(relay.throttled() >= 5, `the relay throttled ${relay.throttled()} requests`);
    } finally {
      await relay.close();
    }
  });

  it("a credential plugin that never answers fails in bounded time, naming the plugin (exit 3)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mathison-hang-"));
    const command = join(dir, "hanging-plugin.sh");
    writeFileSync(command, "#!/bin/sh\nsleep 60\n");
    chmodSync(command, 0o755);
    const kubeconfig = derivedKubeconfig(
      c,
      {},
      {
        "client-certificate": undefined,
        "client-key": undefined,
        exec: { apiVersion: "client.authentication.k8s.io/v1", command, interactiveMode: "Never" },
      },
    );
    const run = await runInstaller(c, [
      "status",
      "--namespace",
      "anything",
      "--kubeconfig",
      kubeconfig,
      "--exec-timeout",
      "2s",
    ]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /credential plugin .*hanging-plugin\.sh did not answer within 2 s/);
    assert.ok(run.ms < 10_000, `bounded: ${run.ms} ms`);
  });

  it("a silent exec (a restore's long index build) lives on the heartbeat: the API server answers its pings", async () => {
    const namespace = fresh("e2e-heartbeat");
    assert.equal((await kubectl(c, ["create", "namespace", namespace])).code, 0);
    // KWOK runs a `postgres` container's exec on the host: a real command, through the real API server.
    assert.equal(
      (await kubectl(c, ["-n", namespace, "run", "postgres", "--image=busybox", "--restart=Never"])).code,
      0,
    );
    const ready = await kubectl(c, ["-n", namespace, "wait", "--for=condition=Ready", "pod/postgres", "--timeout=60s"]);
    assert.equal(ready.code, 0, ready.stderr);
    const transport = new Transport(resolveAccess({ kubeconfig: c.kubeconfig, env: {} }));
    const command = ["sh", "-c", "sleep 3; echo done"];
    const query = { container: "postgres", command, stdout: true, stderr: true };
    const path = `/api/v1/namespaces/${namespace}/pods/postgres/exec`;
    const { socket, protocol } = await transport.websocket(path, query, "v5.channel.k8s.io", "running sh");
    const out: Buffer[] = [];
    const stdout = new PassThrough().on("data", (b: Buffer) => out.push(b));
    // Three seconds of silence against an idle limit of 1.5 s: only pongs keep it alive.
    const r = await streamExec(socket, protocol, { stdout }, "running sh", {
      maxMessageBytes: 1024 * 1024,
      pingMs: 200,
      idleMs: 1_500,
    });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(Buffer.concat(out).toString(), "done\n");
  });
});

import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { resolveAccess, type ConnectOptions } from "../../src/kube/kubeconfig.js";
import { matchesNoProxy, proxyFor } from "../../src/kube/proxy.js";
import { ClusterAccessError } from "../../src/kube/types.js";

const dir = mkdtempSync(join(tmpdir(), "mathison-kcf-"));
let n = 0;

/** A kubeconfig of one context from a cluster and a user entry, written as YAML flow maps. */
function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  const path = join(dir, `config-${++n}`);
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "c",
      clusters: [{ name: "k", cluster: { server: "https://api.example:6443", ...cluster } }],
      users: [{ name: "u", user }],
      contexts: [{ name: "c", context: { cluster: "k", user: "u" } }],
    }),
  );
  return path;
}

function access(
  cluster: Record<string, unknown>,
  user: Record<string, unknown>,
  options: Partial<ConnectOptions> = {},
) {
  return resolveAccess({ kubeconfig: kubeconfig(cluster, user), env: {}, ...options });
}

function refused(cluster: Record<string, unknown>, user: Record<string, unknown>, pattern: RegExp): void {
  assert.throws(
    () => access(cluster, user),
    (e: Error) => e instanceof ClusterAccessError && pattern.test(e.message),
    `expected a refusal matching ${pattern}`,
  );
}

/** A credential plugin script: prints the given ExecCredential JSON after running `before`. */
function plugin(answer: unknown, before = ""): string {
  const path = join(dir, `plugin-${++n}.sh`);
  writeFileSync(path, `#!/bin/sh\n${before}\ncat <<'JSON'\n${JSON.stringify(answer)}\nJSON\n`);
  chmodSync(path, 0o755);
  return path;
}

const V1 = "client.authentication.k8s.io/v1";
const token = (t: string) => ({ apiVersion: V1, kind: "ExecCredential", status: { token: t } });

describe("kubeconfig fields: impersonation", () => {
  it("as, as-uid, as-groups and as-user-extra become Impersonate-* headers on every request", async () => {
    const a = access(
      {},
      {
        token: "t",
        as: "jane",
        "as-uid": "42",
        "as-groups": ["dev", "ops"],
        "as-user-extra": { "reason/why": ["audit"], scopes: ["a", "b"] },
      },
    );
    assert.deepEqual((await a.credentials()).headers, {
      authorization: "Bearer t",
      "impersonate-user": "jane",
      "impersonate-uid": "42",
      "impersonate-group": ["dev", "ops"],
      "impersonate-extra-reason%2Fwhy": ["audit"],
      "impersonate-extra-scopes": ["a", "b"],
    });
  });
  it("as-groups, as-uid or as-user-extra without as is refused, as kubectl refuses it", () => {
    refused({}, { token: "t", "as-groups": ["dev"] }, /user "u" sets as-uid, as-groups or as-user-extra without as/);
  });
});

describe("kubeconfig fields: TLS and the server", () => {
  it("insecure-skip-tls-verify together with a CA is refused, as kubectl refuses it", () => {
    refused(
      { "insecure-skip-tls-verify": true, "certificate-authority-data": Buffer.from("CA").toString("base64") },
      { token: "t" },
      /cluster "k" sets insecure-skip-tls-verify together with a certificate-authority/,
    );
  });
  it("insecure-skip-tls-verify alone turns verification off", () => {
    assert.equal(access({ "insecure-skip-tls-verify": true }, { token: "t" }).tls.rejectUnauthorized, false);
  });
  it("tls-server-name and the *-data fields are used", () => {
    const a = access(
      { "tls-server-name": "kubernetes.internal", "certificate-authority-data": Buffer.from("CA").toString("base64") },
      {
        "client-certificate-data": Buffer.from("CERT").toString("base64"),
        "client-key-data": Buffer.from("KEY").toString("base64"),
      },
    );
    assert.equal(a.tls.servername, "kubernetes.internal");
    assert.equal(a.tls.ca?.toString(), "CA");
    assert.equal(a.tls.cert?.toString(), "CERT");
    assert.equal(a.tls.key?.toString(), "KEY");
  });
  it("a client certificate without a key, or two authentication methods, are refused", () => {
    refused({}, { "client-certificate-data": "Q0VSVA==" }, /user "u" has a client-certificate without client-key/);
    refused({}, { token: "t", username: "a", password: "b" }, /more than one authentication method/);
  });
  it("an http:// server with credentials gets a warning that they travel in clear text", () => {
    assert.match(
      access({ server: "http://api.example:8080" }, { token: "t" }).warnings.join(),
      /plain http: the credentials of user "u" travel in clear text/,
    );
    assert.deepEqual(access({}, { token: "t" }).warnings, []);
  });
  it("a context naming a user the kubeconfig lacks is refused by name", () => {
    const path = join(dir, "no-user");
    writeFileSync(
      path,
      JSON.stringify({
        clusters: [{ name: "k", cluster: { server: "https://x" } }],
        contexts: [{ name: "c", context: { cluster: "k", user: "ghost" } }],
        "current-context": "c",
      }),
    );
    assert.throws(
      () => resolveAccess({ kubeconfig: path }),
      /context "c" names user "ghost", which it does not define/,
    );
  });
});

describe("kubeconfig fields: proxies", () => {
  const server = new URL("https://api.example:6443");
  it("proxy-url wins over the environment", () => {
    assert.equal(
      proxyFor(server, "socks5://127.0.0.1:1080", { HTTPS_PROXY: "http://other:3128" })?.href,
      "socks5://127.0.0.1:1080",
    );
    assert.equal(access({ "proxy-url": "http://proxy.corp:3128" }, { token: "t" }).proxy?.host, "proxy.corp:3128");
  });
  it("HTTPS_PROXY for an https server, HTTP_PROXY for http; a scheme-less value is http://", () => {
    assert.equal(
      proxyFor(server, undefined, { HTTPS_PROXY: "proxy.corp:3128", HTTP_PROXY: "http://plain:8080" })?.href,
      "http://proxy.corp:3128/",
    );
    assert.equal(
      proxyFor(new URL("http://api.example:8080"), undefined, {
        HTTPS_PROXY: "http://a:1",
        HTTP_PROXY: "http://plain:8080",
      })?.host,
      "plain:8080",
    );
    assert.equal(proxyFor(server, undefined, { https_proxy: "http://lower:1" })?.host, "lower:1");
  });
  it("NO_PROXY exempts hosts, domain suffixes, IPs, CIDRs and ports; loopback is never proxied by the environment", () => {
    const env = { HTTPS_PROXY: "http://proxy:3128" };
    assert.equal(proxyFor(new URL("https://127.0.0.1:6443"), undefined, env), undefined);
    assert.equal(proxyFor(new URL("https://localhost:6443"), undefined, env), undefined);
    assert.equal(proxyFor(new URL("https://[::1]:6443"), undefined, env), undefined);
    assert.equal(proxyFor(server, undefined, { ...env, NO_PROXY: ".example" }), undefined);
    assert.equal(proxyFor(server, undefined, { ...env, NO_PROXY: "example" }), undefined);
    assert.notEqual(proxyFor(server, undefined, { ...env, NO_PROXY: "ample" }), undefined);
    assert.ok(matchesNoProxy("10.1.2.3", "6443", "10.0.0.0/8"));
    assert.ok(!matchesNoProxy("11.1.2.3", "6443", "10.0.0.0/8"));
    assert.ok(matchesNoProxy("api.example", "6443", "api.example:6443"));
    assert.ok(!matchesNoProxy("api.example", "443", "api.example:6443"));
    assert.ok(matchesNoProxy("anything", "1", "*"));
    // Go's rules (kubectl's): a leading dot or *. matches subdomains only; a bare name itself too.
    assert.ok(matchesNoProxy("api.corp", "443", "*.corp"));
    assert.ok(!matchesNoProxy("corp", "443", "*.corp"));
    assert.ok(!matchesNoProxy("corp", "443", ".corp"));
    assert.ok(matchesNoProxy("corp", "443", "corp"));
    assert.ok(!matchesNoProxy("10.1.2.3", "443", "2.3"), "a domain entry never exempts an IP host");
    assert.ok(matchesNoProxy("::ffff:a01:203", "443", "10.1.2.3"), "an IPv4-mapped IPv6 host is its IPv4 address");
    assert.equal(proxyFor(server, undefined, { HTTPS_PROXY: "", https_proxy: "http://lower:1" })?.host, "lower:1");
    // A proxy-url is the kubeconfig's own choice: used even for loopback.
    assert.equal(proxyFor(new URL("https://127.0.0.1:6443"), "http://127.0.0.1:3128", env)?.port, "3128");
  });
  it("a proxy-url of another scheme is refused by name", () => {
    refused(
      { "proxy-url": "ftp://proxy:21" },
      { token: "t" },
      /cluster "k": proxy-url "ftp:\/\/proxy:21": the scheme ftp is not supported: allowed are http, https and socks5/,
    );
  });
});

describe("kubeconfig fields: exec credential plugins", () => {
  const exec = (extra: Record<string, unknown>) => ({
    exec: { apiVersion: V1, interactiveMode: "IfAvailable", ...extra },
  });

  it("v1 without interactiveMode, an unknown mode, or exec with an auth-provider are refused", () => {
    refused(
      {},
      { exec: { apiVersion: V1, command: "x" } },
      /exec.interactiveMode is missing \(required with client.authentication.k8s.io\/v1/,
    );
    refused(
      {},
      exec({ command: "x", interactiveMode: "Sometimes" }),
      /exec.interactiveMode "Sometimes" is not allowed/,
    );
    refused({}, { ...exec({ command: "x" }), "auth-provider": { name: "oidc" } }, /has both exec and auth-provider/);
  });
  it("v1beta1 defaults to IfAvailable, as kubectl does", async () => {
    const a = access(
      {},
      {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1beta1",
          command: plugin({ ...token("b"), apiVersion: "client.authentication.k8s.io/v1beta1" }),
        },
      },
    );
    assert.equal((await a.credentials()).headers["authorization"], "Bearer b");
  });
  it("provideClusterInfo sends the server, CA and the exec extension in KUBERNETES_EXEC_INFO; without it only interactive", async () => {
    const info = join(dir, "info.json");
    const command = plugin(token("x"), `echo "$KUBERNETES_EXEC_INFO" > ${info}`);
    const ca = Buffer.from("CA-PEM").toString("base64");
    await access(
      {
        "certificate-authority-data": ca,
        "tls-server-name": "k8s",
        extensions: [{ name: "client.authentication.k8s.io/exec", extension: { audience: "x" } }],
      },
      exec({ command, provideClusterInfo: true }),
    ).credentials();
    const sent = JSON.parse(readFileSync(info, "utf8"));
    assert.deepEqual(sent.spec, {
      interactive: false,
      cluster: {
        server: "https://api.example:6443",
        "tls-server-name": "k8s",
        "certificate-authority-data": ca,
        config: { audience: "x" },
      },
    });
    await access({}, exec({ command })).credentials();
    assert.deepEqual(JSON.parse(readFileSync(info, "utf8")).spec, { interactive: false });
  });
  it("interactiveMode Always without a terminal fails with a clear message; with one the plugin is told it is interactive", async () => {
    const info = join(dir, "info-always.json");
    const command = plugin(token("x"), `echo "$KUBERNETES_EXEC_INFO" > ${info}`);
    await assert.rejects(
      access({}, exec({ command, interactiveMode: "Always" })).credentials(),
      /credential plugin .* needs a terminal to ask you \(interactiveMode: Always\), and standard input is not one/,
    );
    await access({}, exec({ command, interactiveMode: "Always" }), { exec: { stdinIsTerminal: true } }).credentials();
    assert.equal(JSON.parse(readFileSync(info, "utf8")).spec.interactive, true);
    await access({}, exec({ command, interactiveMode: "Never" }), { exec: { stdinIsTerminal: true } }).credentials();
    assert.equal(JSON.parse(readFileSync(info, "utf8")).spec.interactive, false);
  });
  it("a plugin that is not installed shows its installHint", async () => {
    await assert.rejects(
      access({}, exec({ command: "mathison-no-such-plugin", installHint: "brew install\n  the-plugin" })).credentials(),
      /credential plugin mathison-no-such-plugin is not installed \(not found on PATH\): brew install the-plugin/,
    );
  });
  it("a plugin that does not answer in time fails naming it", async () => {
    const command = plugin(token("x"), "sleep 5");
    const started = Date.now();
    await assert.rejects(
      access({}, exec({ command }), { exec: { timeoutMs: 300 } }).credentials(),
      /credential plugin .*plugin-\d+\.sh did not answer within 0.3 s: .*--exec-timeout/,
    );
    assert.ok(Date.now() - started < 3000);
  });
  it("answers kubectl would not take are refused: another apiVersion, no status, a certificate without its key", async () => {
    await assert.rejects(
      access(
        {},
        exec({ command: plugin({ ...token("x"), apiVersion: "client.authentication.k8s.io/v1beta1" }) }),
      ).credentials(),
      /answered with apiVersion client.authentication.k8s.io\/v1beta1, but the kubeconfig asks for client.authentication.k8s.io\/v1/,
    );
    await assert.rejects(
      access({}, exec({ command: plugin({ apiVersion: V1, kind: "ExecCredential" }) })).credentials(),
      /without a status/,
    );
    await assert.rejects(
      access(
        {},
        exec({ command: plugin({ apiVersion: V1, kind: "ExecCredential", status: { clientCertificateData: "C" } }) }),
      ).credentials(),
      /certificate without its key/,
    );
  });
  it("concurrent first requests run the plugin once; a refused credential runs it again, once", async () => {
    const count = join(dir, "count");
    writeFileSync(count, "");
    const a = access({}, exec({ command: plugin(token("x"), `echo run >> ${count}`) }));
    const [one, two] = await Promise.all([a.credentials(), a.credentials()]);
    assert.equal(readFileSync(count, "utf8").trim().split("\n").length, 1);
    assert.equal(a.refresh(one), true, "the first 401 of a credential refreshes it");
    assert.equal(a.refresh(two), false, "the same credential refused again does not run the plugin twice");
    await a.credentials();
    assert.equal(readFileSync(count, "utf8").trim().split("\n").length, 2);
  });
  it("a client certificate from the plugin is part of the credentials", async () => {
    const a = access(
      {},
      exec({
        command: plugin({
          apiVersion: V1,
          kind: "ExecCredential",
          status: { clientCertificateData: "CERT", clientKeyData: "KEY" },
        }),
      }),
    );
    const c = await a.credentials();
    assert.equal(c.cert?.toString(), "CERT");
    assert.equal(c.key?.toString(), "KEY");
  });
});

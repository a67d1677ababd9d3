import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { connect, listContexts } from "../../src/kube/client.js";
import { readKubeConfigFiles, resolveAccess } from "../../src/kube/kubeconfig.js";
import { ClusterAccessError } from "../../src/kube/types.js";

const kubeconfig = join(mkdtempSync(join(tmpdir(), "mathison-kc-")), "config");
writeFileSync(
  kubeconfig,
  `apiVersion: v1
kind: Config
clusters:
- {name: a, cluster: {server: "https://a.example:6443"}}
- {name: b, cluster: {server: "https://b.example:6443"}}
users: [{name: u, user: {token: t}}]
contexts:
- {name: alpha, context: {cluster: a, user: u}}
- {name: beta, context: {cluster: b, user: u}}
- {name: gamma, context: {cluster: a, user: u}}
current-context: beta
`,
);

describe("kube access as kubectl does it", () => {
  it("offers the kubeconfig's contexts, the current one first", () => {
    assert.deepEqual(listContexts({ kubeconfig }), { names: ["beta", "alpha", "gamma"], current: "beta" });
  });
  it("uses --context over the current context, and names a missing one", () => {
    assert.equal(connect({ kubeconfig }).server, "https://b.example:6443");
    const alpha = connect({ kubeconfig, context: "alpha" });
    assert.equal(alpha.contextName, "alpha");
    assert.equal(alpha.server, "https://a.example:6443");
    assert.throws(
      () => connect({ kubeconfig, context: "delta" }),
      (e: Error) =>
        e instanceof ClusterAccessError &&
        /context "delta" is not in the kubeconfig \(contexts: alpha, beta, gamma\)/.test(e.message),
    );
  });
});

describe("kubeconfig files and credentials", () => {
  const dir = mkdtempSync(join(tmpdir(), "mathison-kc2-"));
  writeFileSync(join(dir, "ca.crt"), "CA-BYTES");
  // A credential plugin as EKS/GKE ship them: prints an ExecCredential, sees KUBERNETES_EXEC_INFO.
  writeFileSync(
    join(dir, "plugin.sh"),
    `#!/bin/sh
echo "$KUBERNETES_EXEC_INFO" > "${join(dir, "exec-info.json")}"
echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-'"$PLUGIN_SUFFIX"'","expirationTimestamp":"2999-01-01T00:00:00Z"}}'
`,
    { mode: 0o755 },
  );
  const first = join(dir, "first");
  const second = join(dir, "second");
  writeFileSync(
    first,
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://first.example:6443/", certificate-authority: ca.crt}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, interactiveMode: IfAvailable, command: ./plugin.sh, env: [{name: PLUGIN_SUFFIX, value: abc}]}}}]
contexts: [{name: ctx, context: {cluster: c, user: u}}]
`,
  );
  writeFileSync(
    second,
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://second.example:6443"}}]
users: [{name: t, user: {token: static}}, {name: u, user: {token: ignored}}]
contexts: [{name: ctx, context: {cluster: c, user: t}}, {name: other, context: {cluster: c, user: t}}]
current-context: other
`,
  );

  it("merges a KUBECONFIG list as kubectl does: the first file to name an entry wins, relative paths are the file's", async () => {
    const merged = readKubeConfigFiles([first, second, join(dir, "missing")], false);
    assert.deepEqual(
      merged.contexts.map((c) => c.name),
      ["ctx", "other"],
    );
    assert.equal(merged.currentContext, "other", "the first file that sets it");
    const access = resolveAccess({ kubeconfig: first, context: "ctx" });
    assert.equal(access.server, "https://first.example:6443", "no trailing slash");
    assert.equal(access.tls.ca?.toString(), "CA-BYTES", "certificate-authority relative to the kubeconfig's directory");
    assert.equal(access.tls.rejectUnauthorized, true);
  });

  it("runs an exec credential plugin once, with its env and KUBERNETES_EXEC_INFO, and uses its token", async () => {
    const access = resolveAccess({ kubeconfig: first, context: "ctx" });
    assert.deepEqual((await access.credentials()).headers, { authorization: "Bearer tok-abc" });
    const info = JSON.parse(readFileSync(join(dir, "exec-info.json"), "utf8"));
    assert.equal(info.kind, "ExecCredential");
    assert.equal(info.spec.interactive, false);
    rmSync(join(dir, "exec-info.json"));
    await access.credentials();
    assert.equal(existsSync(join(dir, "exec-info.json")), false, "cached until it expires");
  });

  it("a missing --kubeconfig, and an unsupported auth-provider, are the user's to fix", async () => {
    assert.throws(
      () => resolveAccess({ kubeconfig: join(dir, "nope") }),
      (e: Error) => e instanceof ClusterAccessError && /^the kubeconfig \S+\/nope does not exist$/.test(e.message),
    );
    const legacy = join(dir, "legacy");
    writeFileSync(
      legacy,
      `clusters: [{name: c, cluster: {server: "https://x:6443"}}]
users: [{name: u, user: {auth-provider: {name: gcp}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
    );
    await assert.rejects(
      resolveAccess({ kubeconfig: legacy }).credentials(),
      (e: Error) =>
        e instanceof ClusterAccessError &&
        /auth-provider "gcp" is not supported: use its exec credential plugin/.test(e.message),
    );
  });
});

describe("a kubeconfig that is not there is named, in words", () => {
  it("--kubeconfig FILE that does not exist: the file named, no ENOENT", () => {
    assert.throws(
      () => resolveAccess({ kubeconfig: "/nonexistent/kubeconfig" }),
      (err: Error) =>
        err instanceof ClusterAccessError &&
        err.message === "the kubeconfig /nonexistent/kubeconfig does not exist" &&
        !/ENOENT/.test(err.message),
    );
  });

  it("KUBECONFIG naming files that do not exist says so, not 'set KUBECONFIG'", () => {
    const saved = process.env["KUBECONFIG"];
    process.env["KUBECONFIG"] = "/nonexistent/a:/nonexistent/b";
    try {
      assert.throws(
        () => resolveAccess({}),
        (e: Error) =>
          /^no cluster configured: KUBECONFIG names \/nonexistent\/a, \/nonexistent\/b, which do not exist; pass --kubeconfig FILE/.test(
            e.message,
          ),
      );
    } finally {
      if (saved === undefined) delete process.env["KUBECONFIG"];
      else process.env["KUBECONFIG"] = saved;
    }
  });
});

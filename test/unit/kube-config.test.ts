import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { connect, listContexts } from "../../src/kube/client.js";
import { ClusterAccessError } from "../../src/kube/types.js";

const kubeconfig = join(mkdtempSync(join(tmpdir(), "mathison-kc-")), "config");
writeFileSync(kubeconfig, `apiVersion: v1
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
`);

describe("kube access as kubectl does it", () => {
  it("offers the kubeconfig's contexts, the current one first", () => {
    assert.deepEqual(listContexts({ kubeconfig }), { names: ["beta", "alpha", "gamma"], current: "beta" });
  });
  it("uses --context over the current context, and names a missing one", () => {
    assert.equal(connect({ kubeconfig }).server, "https://b.example:6443");
    const alpha = connect({ kubeconfig, context: "alpha" });
    assert.equal(alpha.contextName, "alpha");
    assert.equal(alpha.server, "https://a.example:6443");
    assert.throws(() => connect({ kubeconfig, context: "delta" }), (e: Error) => e instanceof ClusterAccessError && /context "delta" is not in the kubeconfig \(contexts: alpha, beta, gamma\)/.test(e.message));
  });
});

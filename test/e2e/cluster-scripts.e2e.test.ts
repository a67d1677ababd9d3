// The test cluster's own scripts, as a newcomer meets them: a state directory under a private
// home (root's is 0700, which the backing PostgreSQL's user cannot enter), a start killed
// halfway, and the next start after it.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { testCluster } from "../helpers/cluster.js";
import { PACKAGE_ROOT } from "../../src/base/paths.js";

const { skip } = testCluster();
const scripts = join(PACKAGE_ROOT, "scripts", "cluster");

/** A script's exit code and everything it printed (stdout, then stderr). */
function run(script: string, state: string): { code: number; out: string } {
  const r = spawnSync("bash", [join(scripts, script)], {
    env: { ...process.env, MATHISON_CLUSTER_DIR: state },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** Processes whose command line names the directory: what a stopped cluster must not leave. */
function processesOf(dir: string): string {
  try {
    return execFileSync("pgrep", ["-af", `${dir}/`])
      .toString()
      .trim();
  } catch {
    return "";
  }
}

describe("the test cluster's scripts", { skip, timeout: 180_000 }, () => {
  it("up works with a state directory under a private (0700) home, the exec backends included; down leaves nothing", () => {
    const home = mkdtempSync(join(tmpdir(), "mathison-private-home-"));
    const state = join(home, ".cache", "cluster");
    mkdirSync(join(home, ".cache"), { recursive: true });
    // Whatever fails below, the cluster it started is stopped.
    after(() => run("down.sh", state));
    const up = run("up.sh", state);
    assert.equal(up.code, 0, up.out);
    assert.match(up.out, new RegExp(`export KUBECONFIG=${state}/kubeconfig`));
    const again = run("up.sh", state);
    assert.match(again.out, /one is already running/, "a cluster that answers is reused");
    // The postgres user cannot enter the 0700 home: the backing files live elsewhere, linked from the state.
    const backing = realpathSync(join(state, "backing"));
    assert.ok(!backing.startsWith(home), `backing files outside the private home: ${backing}`);
    const down = run("down.sh", state);
    assert.equal(down.code, 0, down.out);
    assert.equal(processesOf(state), "");
    assert.equal(existsSync(state), false);
    assert.equal(existsSync(backing), false, "its backing directory went too");
  });

  it("a start killed halfway leaves nothing running, and the next start succeeds", async () => {
    const state = join(mkdtempSync(join(tmpdir(), "mathison-killed-")), "cluster");
    after(() => run("down.sh", state));
    const child = spawn("bash", [join(scripts, "up.sh")], {
      env: { ...process.env, MATHISON_CLUSTER_DIR: state },
      stdio: "ignore",
    });
    // Killed once the API server runs (etcd and kube-apiserver started, the rest not yet).
    for (let i = 0; !existsSync(join(state, "logs", "kube-apiserver.log")); i++) {
      assert.ok(i < 300, "the start got as far as the API server");
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    for (let i = 0; processesOf(state) !== "" && i < 100; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(processesOf(state), "", "nothing of the start left running");
    const next = run("up.sh", state);
    assert.equal(next.code, 0, next.out);
    assert.equal(run("down.sh", state).code, 0);
  });
});

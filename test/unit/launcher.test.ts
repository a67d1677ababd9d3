import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { PACKAGE_ROOT } from "../../src/base/paths.js";

/** A Node older than 22 on this machine (Debian's), if there is one. */
function oldNode(): string | undefined {
  for (const path of ["/usr/bin/node", "/bin/node"]) {
    try {
      const major = Number(execFileSync(path, ["--version"]).toString().slice(1).split(".")[0]);
      if (major < 22) return path;
    } catch {
      // not there
    }
  }
  return undefined;
}

describe("launcher", () => {
  const node = oldNode();
  it("on Node older than 22: names the minimum and how to get it, exit 2", {
    skip: node ? false : "no Node older than 22 here",
  }, () => {
    const run = spawnSync(node!, [join(PACKAGE_ROOT, "bin", "mathison-install.js"), "--version"], { encoding: "utf8" });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /^mathison-install: needs Node.js 22 or newer; this is v\d+/);
    assert.match(run.stderr, /try: install Node.js 22 or newer/);
  });
});

// The README's pictures are the program's: taken again from the real binary at 80x24, every line
// they show must still be one the program shows (digits aside: ports, durations, hashes).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { PACKAGE_ROOT } from "../../src/base/paths.js";
import { testCluster } from "../helpers/cluster.js";
import { tmuxMissing } from "../helpers/terminal.js";

const { cluster, skip } = testCluster();

describe("README", { skip: skip || tmuxMissing() }, () => {
  it("its pictures of the wizard and the progress screen match the program (scripts/pictures.mjs --check)", async () => {
    const c = cluster!;
    const run = await promisify(execFile)(
      "node",
      [join(PACKAGE_ROOT, "scripts/pictures.mjs"), c.kubeconfig, "--check"],
      {
        env: { ...process.env, KUBECTL: join(c.binDir, "kubectl") },
      },
    );
    assert.match(run.stdout, /README pictures match the program/);
  });
});

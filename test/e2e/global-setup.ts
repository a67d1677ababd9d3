// Starts one real test cluster for the whole end-to-end run (scripts/cluster/up.sh) and stops it
// afterwards. A developer can point the suite at a running cluster with MATHISON_TEST_KUBECONFIG.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../src/base/paths.js";

const scripts = join(PACKAGE_ROOT, "scripts", "cluster");
let startedDir: string | undefined;

export async function globalSetup(): Promise<void> {
  if (process.env["MATHISON_E2E_SKIP"]) {
    process.stderr.write(`end-to-end tests skipped: ${process.env["MATHISON_E2E_SKIP"]}\n`);
    return;
  }
  process.env["MATHISON_TEST_BIN_DIR"] ??= execFileSync("bash", [
    "-c",
    `. "${scripts}/versions.sh" && printf %s "$CLUSTER_BIN_DIR"`,
  ]).toString();
  if (process.env["MATHISON_TEST_KUBECONFIG"]) return;
  startedDir = mkdtempSync(join(tmpdir(), "mathison-e2e-cluster-"));
  const out = execFileSync("bash", [join(scripts, "up.sh")], {
    env: { ...process.env, MATHISON_CLUSTER_DIR: startedDir },
    stdio: ["ignore", "pipe", "inherit"],
  }).toString();
  const kubeconfig = /^export KUBECONFIG=(.+)$/m.exec(out)?.[1];
  if (!kubeconfig) throw new Error(`cluster up printed no KUBECONFIG: ${out}`);
  process.env["MATHISON_TEST_KUBECONFIG"] = kubeconfig;
  process.env["MATHISON_TEST_CLUSTER_DIR"] = startedDir;
}

export async function globalTeardown(): Promise<void> {
  if (!startedDir) return;
  execFileSync("bash", [join(scripts, "down.sh")], {
    env: { ...process.env, MATHISON_CLUSTER_DIR: startedDir },
    stdio: "inherit",
  });
}

// The published artifact: `npm pack`'s tarball, installed into a clean directory, runs.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { PACKAGE_ROOT } from "../../src/paths.js";

describe("npm pack tarball", () => {
  const packDir = mkdtempSync(join(tmpdir(), "mathison-pack-"));
  const clean = mkdtempSync(join(tmpdir(), "mathison-clean-"));
  execFileSync("npm", ["pack", "--silent", "--pack-destination", packDir], { cwd: PACKAGE_ROOT, stdio: ["ignore", "ignore", "inherit"] });
  const tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith(".tgz"))!);
  const run = (...args: string[]) =>
    execFileSync("npm", ["exec", "--yes", `--package=${tarball}`, "--", "mathison-install", ...args], {
      cwd: clean,
      env: { ...process.env, npm_config_loglevel: "error", npm_config_update_notifier: "false" },
      stdio: ["ignore", "pipe", "pipe"],
    }).toString();

  it("holds the launcher, the compiled program and the manifests, not the tests", () => {
    const listing = execFileSync("tar", ["-tzf", tarball]).toString().split("\n");
    for (const f of ["package/bin/mathison-install.js", "package/dist/src/cli/main.js", "package/manifests/07-web.yaml", "package/README.md"]) {
      assert.ok(listing.includes(f), `${f} is packed`);
    }
    assert.ok(!listing.some((f) => f.startsWith("package/dist/test/") || f.startsWith("package/src/")), "no tests or sources");
  });

  it("runs --version, --help and render from a clean directory", () => {
    const version = (JSON.parse(execFileSync("tar", ["-xzOf", tarball, "package/package.json"]).toString()) as { version: string }).version;
    assert.equal(run("--version").trim(), version);
    assert.match(run("--help"), /Usage:\n\s+mathison-install \[install\]/);
    const docs = parseAllDocuments(run("render", "--domain", "pack.example.com")).map((d) => d.toJS());
    assert.equal(docs[0].kind, "Namespace");
    assert.ok(docs.some((d) => d.kind === "Ingress" && d.spec.rules[0].host === "pack.example.com"));
  });
});

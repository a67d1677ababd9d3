// The published artifact: `npm pack`'s tarball (built by prepack: the bundle, no runtime
// dependencies), run with npx from a clean directory, and installing onto the real test cluster.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { kubectlJson, testCluster, uniqueNamespace } from "../helpers/cluster.js";
import { tidy } from "../helpers/install.js";
import { Terminal, tmuxMissing } from "../helpers/terminal.js";
import { PACKAGE_ROOT } from "../../src/base/paths.js";

const { cluster, skip } = testCluster();

describe("npm pack tarball", () => {
  const packDir = mkdtempSync(join(tmpdir(), "mathison-pack-"));
  const clean = mkdtempSync(join(tmpdir(), "mathison-clean-"));
  // An npm cache of its own: what npx fetches and installs is what a first-time user gets.
  const cache = mkdtempSync(join(tmpdir(), "mathison-npm-cache-"));
  execFileSync("npm", ["pack", "--silent", "--pack-destination", packDir], {
    cwd: PACKAGE_ROOT,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith(".tgz"))!);
  const npx = (args: string[], env: Record<string, string> = {}) =>
    promisify(execFile)("npx", ["--yes", `--package=${tarball}`, "--", "mathison-install", ...args], {
      cwd: clean,
      env: {
        PATH: process.env["PATH"] ?? "",
        HOME: process.env["HOME"] ?? "",
        npm_config_cache: cache,
        npm_config_loglevel: "error",
        npm_config_update_notifier: "false",
        ...env,
      },
    });
  const packageJson = JSON.parse(execFileSync("tar", ["-xzOf", tarball, "package/package.json"]).toString()) as Record<
    string,
    any
  >;

  it("holds the launcher, the bundle, the manifests and the notices; no sources, no tests, no runtime dependencies", () => {
    const listing = execFileSync("tar", ["-tzf", tarball]).toString().split("\n");
    for (const f of [
      "package/bin/mathison-install.js",
      "package/dist/bundle/main.cjs",
      "package/dist/bundle/terminal.mjs",
      "package/manifests/07-web.yaml",
      "package/README.md",
      "package/THIRD_PARTY_NOTICES.md",
    ]) {
      assert.ok(listing.includes(f), `${f} is packed`);
    }
    assert.ok(!listing.some((f) => /^package\/(dist\/(src|test)|src|test)\//.test(f)), "no tests or sources");
    assert.ok(!listing.some((f) => f.endsWith(".map")), "no source maps");
    assert.equal(packageJson["dependencies"], undefined, "everything it runs is inlined");
    const notices = execFileSync("tar", ["-xzOf", tarball, "package/THIRD_PARTY_NOTICES.md"]).toString();
    for (const name of ["ink", "react", "yaml", "@inquirer/core"])
      assert.match(notices, new RegExp(`^## ${name.replace("/", "\\/")} `, "m"), name);
  });

  it("runs --version, --help and render with npx from a clean directory", async () => {
    assert.equal((await npx(["--version"])).stdout.trim(), packageJson["version"]);
    assert.match((await npx(["--help"])).stdout, /Usage:\n\s+mathison-install \[install\]/);
    const rendered = (await npx(["render", "--domain", "pack.example.com", "--tag", "1.0.0"])).stdout;
    // The bundle renders from manifests parsed when it was built; the sources parse them now: the same objects.
    const fromSources = execFileSync(process.execPath, [
      join(PACKAGE_ROOT, "bin", "mathison-install.js"),
      "render",
      "--domain",
      "pack.example.com",
      "--tag",
      "1.0.0",
    ]).toString();
    assert.equal(rendered, fromSources);
    const docs = parseAllDocuments(rendered).map((d) => d.toJS());
    assert.equal(docs[0].kind, "Namespace");
    assert.ok(docs.some((d) => d.kind === "Ingress" && d.spec.rules[0].host === "pack.example.com"));
  });

  it("writes V8's code cache of a command after its first run that succeeds, for the user only; a failed run writes none", async () => {
    const xdg = mkdtempSync(join(tmpdir(), "mathison-xdg-"));
    const dir = join(
      xdg,
      "mathison-install",
      "code-cache",
      `${packageJson["version"]}-${process.version}-${process.arch}`,
    );
    await npx(["render", "--domain", "pack.example.com"], { XDG_CACHE_HOME: xdg });
    assert.equal(statSync(join(dir, "render.bin")).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    await assert.rejects(npx(["status", "--kubeconfig", join(xdg, "none")], { XDG_CACHE_HOME: xdg }));
    assert.ok(!existsSync(join(dir, "status.bin")), "a run that failed wrote no cache");
    const again = await npx(["render", "--domain", "pack.example.com"], { XDG_CACHE_HOME: xdg });
    assert.match(again.stdout, /kind: Namespace/, "a run with the cache renders the same");
    rmSync(xdg, { recursive: true, force: true });
  });

  it("installs onto the real test cluster, and reports status", { skip }, async () => {
    const c = cluster!;
    const namespace = uniqueNamespace("e2e-pack");
    after(() => tidy(c, namespace));
    const env = { KUBECONFIG: c.kubeconfig, ANTHROPIC_API_KEY: "sk-ant-pack" };
    const run = await npx(
      [
        "install",
        "--non-interactive",
        "--output",
        "json",
        "--skip-verify",
        "--namespace",
        namespace,
        "--domain",
        `${namespace}.e2e.test`,
      ],
      env,
    );
    const done = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .find((e) => e.event === "done");
    assert.equal(done.ok, true, run.stderr);
    assert.equal((await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"])).status.readyReplicas, 2);
    const status = JSON.parse((await npx(["status", "--namespace", namespace, "--output", "json"], env)).stdout);
    assert.equal(status.healthy, true);
  });

  it("the README's quick start runs as written: npx, the wizard in a terminal, status", {
    skip: skip || tmuxMissing(),
  }, async () => {
    const c = cluster!;
    after(() => tidy(c, "mathison-system"));
    // `npx mathison-install` finds the package installed here, as it would find the published one.
    const here = mkdtempSync(join(tmpdir(), "mathison-quick-start-"));
    execFileSync("npm", ["install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error", tarball], {
      cwd: here,
      env: { ...process.env, npm_config_cache: cache },
    });
    const readme = readFileSync(join(PACKAGE_ROOT, "README.md"), "utf8");
    const block = /## Quick start[\s\S]*?```bash\n([\s\S]*?)```/.exec(readme)![1]!;
    const lines = block.split("\n").filter((l) => l.trim() !== "");
    assert.ok(
      lines.some((l) => l.startsWith("npx mathison-install")),
      block,
    );
    writeFileSync(join(here, "quick-start.sh"), lines.map((l) => `${l}\necho "[line exit $?]"`).join("\n"));
    const t = new Terminal(`cd ${here} && bash quick-start.sh`, {
      KUBECONFIG: c.kubeconfig,
      npm_config_cache: cache,
      PATH: process.env["PATH"] ?? "",
    });
    try {
      await answerWizard(t, "quick.e2e.test");
      await t.exitCode(120_000);
      const history = t.history();
      // The install applies everything; its verification fails here only where the test cluster has no ingress controller.
      assert.match(history, /✔ \[6\/6\] Ingress, network policies and disruption budget/, history);
      assert.match(history, /\[line exit (0|10)\][\s\S]*mathison-system[\s\S]*\[line exit \d+\]/, history);
      assert.equal(
        (await kubectlJson(c, ["-n", "mathison-system", "get", "deployment/mathison-web"])).status.readyReplicas,
        2,
      );
    } finally {
      t.close();
    }
  });
});

/** The wizard answered as a newcomer would: the domain typed, plain HTTP, every other default, then Install. */
async function answerWizard(t: Terminal, domain: string): Promise<void> {
  let answered = "";
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const asking = t
      .screen()
      .split("\n")
      .filter((l) => l.startsWith("? "))
      .at(-1);
    if (!asking || asking === answered) {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    answered = asking;
    if (asking.startsWith("? Domain of the web UI")) t.type(domain);
    if (asking.startsWith("? TLS for the web UI")) t.send("Down");
    t.send("Enter");
    if (asking.startsWith("? Install?")) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the wizard never asked to install:\n${t.screen()}`);
}

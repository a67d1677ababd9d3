// The published artifact: `npm pack`'s tarball (built by prepack: the bundle, no runtime
// dependencies), run with npx from a clean directory, and installing onto the real test cluster.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
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

  it("under npx, hints say npx mathison-install", async () => {
    await assert.rejects(npx(["frobnicate"]), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr ?? "", /try: npx mathison-install --help lists them/);
      return true;
    });
  });

  it("runs --version, --help and render with npx from a clean directory", async () => {
    assert.equal((await npx(["--version"])).stdout.trim(), packageJson["version"]);
    assert.match((await npx(["--help"])).stdout, /Usage:\n\s+npx mathison-install \[install\]/);
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

  /** The cache directory of the packed bundle: keyed by a hash of its bytes, Node and arch. */
  const cacheDirOf = (xdg: string, bundle: Buffer) =>
    join(
      xdg,
      "mathison-install",
      "code-cache",
      `${createHash("sha256").update(bundle).digest("hex").slice(0, 16)}-${process.version}-${process.arch}`,
    );
  const packedBundle = execFileSync("tar", ["-xzOf", tarball, "package/dist/bundle/main.cjs"]);

  it("writes V8's code cache of a command after its first run that succeeds, for the user only; a failed run writes none", async () => {
    const xdg = mkdtempSync(join(tmpdir(), "mathison-xdg-"));
    const dir = cacheDirOf(xdg, packedBundle);
    await npx(["render", "--domain", "pack.example.com"], { XDG_CACHE_HOME: xdg });
    assert.equal(statSync(join(dir, "render.bin")).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    await assert.rejects(npx(["status", "--kubeconfig", join(xdg, "none")], { XDG_CACHE_HOME: xdg }));
    assert.ok(!existsSync(join(dir, "status.bin")), "a run that failed wrote no cache");
    const again = await npx(["render", "--domain", "pack.example.com"], { XDG_CACHE_HOME: xdg });
    assert.match(again.stdout, /kind: Namespace/, "a run with the cache renders the same");
    rmSync(xdg, { recursive: true, force: true });
  });

  describe("the code cache never runs stale code", () => {
    // The package unpacked as npm installs it: bin/ and dist/bundle/, run with node directly.
    const unpacked = mkdtempSync(join(tmpdir(), "mathison-unpacked-"));
    execFileSync("tar", ["-xzf", tarball, "-C", unpacked]);
    const main = join(unpacked, "package", "dist", "bundle", "main.cjs");
    const render = (xdg: string, env: Record<string, string> = {}) =>
      execFileSync(
        process.execPath,
        [join(unpacked, "package", "bin", "mathison-install.js"), "render", "--domain", "pack.example.com"],
        { env: { PATH: process.env["PATH"] ?? "", HOME: xdg, XDG_CACHE_HOME: xdg, ...env } },
      ).toString();
    after(() => rmSync(unpacked, { recursive: true, force: true }));

    it("a rebuild of the same version and length runs the new code", () => {
      const xdg = mkdtempSync(join(tmpdir(), "mathison-xdg-"));
      writeFileSync(main, packedBundle);
      assert.match(render(xdg), /# Stage 1\/6: Namespace and RBAC/);
      assert.ok(existsSync(join(cacheDirOf(xdg, packedBundle), "render.bin")), "cached");
      // One string changed, the length kept: V8 alone would take the old cache and print the old text.
      const rebuilt = Buffer.from(packedBundle.toString("utf8").replace("Namespace and RBAC", "Namespace und RBAC"));
      assert.equal(rebuilt.length, packedBundle.length);
      writeFileSync(main, rebuilt);
      assert.match(render(xdg), /# Stage 1\/6: Namespace und RBAC/);
      assert.ok(existsSync(join(cacheDirOf(xdg, rebuilt), "render.bin")), "the rebuild's own cache");
      assert.ok(!existsSync(cacheDirOf(xdg, packedBundle)), "the old build's cache is gone");
      writeFileSync(main, packedBundle);
      rmSync(xdg, { recursive: true, force: true });
    });

    it("a truncated cache file does not crash: the run renders, and the cache is written again", () => {
      const xdg = mkdtempSync(join(tmpdir(), "mathison-xdg-"));
      const first = render(xdg);
      const file = join(cacheDirOf(xdg, packedBundle), "render.bin");
      const whole = statSync(file).size;
      truncateSync(file, Math.floor(whole / 2));
      assert.equal(render(xdg), first);
      // Written anew by that run: about the size of the first (what V8 compiled differs by a few bytes).
      assert.ok(statSync(file).size > whole * 0.9, `rewritten (${statSync(file).size} of ${whole} bytes)`);
      writeFileSync(file, "not a code cache at all");
      assert.equal(render(xdg), first);
      assert.ok(statSync(file).size > whole * 0.9, `rewritten again (${statSync(file).size} of ${whole} bytes)`);
      rmSync(xdg, { recursive: true, force: true });
    });

    it("MATHISON_NO_CODE_CACHE=1 writes no cache, Node's or ours", () => {
      const xdg = mkdtempSync(join(tmpdir(), "mathison-xdg-"));
      assert.match(render(xdg, { MATHISON_NO_CODE_CACHE: "1" }), /kind: Namespace/);
      assert.ok(!existsSync(join(xdg, "mathison-install")), "nothing cached");
      rmSync(xdg, { recursive: true, force: true });
    });

    it("a write that fails half-way (a full disk) leaves nothing behind", {
      skip: process.getuid?.() !== 0 && "mounting a tmpfs needs root",
    }, () => {
      const xdg = mkdtempSync(join(tmpdir(), "mathison-xdg-"));
      // Room for the directories, not for the cache (about a megabyte).
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", xdg]);
      try {
        assert.match(render(xdg), /kind: Namespace/);
        const dir = cacheDirOf(xdg, packedBundle);
        assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], [], "no partial file, no cache");
      } finally {
        execFileSync("umount", [xdg]);
        rmSync(xdg, { recursive: true, force: true });
      }
    });
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
    const status = (await npx(["status", "--namespace", namespace, "--output", "json"], env)).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(status.find((e) => e.event === "report")?.install.healthy, true);
    assert.deepEqual(
      status.map((e) => e.event),
      ["report", "done"],
    );
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
      // A newcomer learns where it goes before the first question, and is not asked what has one answer.
      assert.match(
        history.replace(/\n\s*/g, " "),
        /Installing into context \S+, namespace mathison-system \(--namespace chooses another\) [✔?] Domain of the web UI/,
      );
      assert.doesNotMatch(history, /[?✔] (LLM provider|MATHISON_MODE)/, "one-value settings are not asked");
      // Hints name the program as the newcomer started it, even on the terminal screens (a bundle of their own).
      assert.match(history, /npx mathison-install verify --namespace mathison-system/);
      assert.match(history, /npx mathison-install install {2}re-run to upgrade/);
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

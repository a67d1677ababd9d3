#!/usr/bin/env node
// Launcher, CommonJS (bin/package.json): Node starts a CommonJS file without its ES module loader,
// so `--version` answers before any of it is set up. A checkout runs the compiled sources
// (dist/src, from `npm run build`); the published package holds only the bundle (dist/bundle).
"use strict";
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  process.stderr.write(`mathison-install: needs Node.js 22 or newer; this is ${process.version}\n  try: install Node.js 22 or newer (https://nodejs.org/, or a version manager: nvm install 22)\n`);
  // Not a bug in the installer (exit 1): the usage code, as for any input it cannot take.
  process.exit(2);
}
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
  process.stdout.write(`${require("../package.json").version}\n`);
  return;
}
// NO_COLOR (no-color.org) for every screen: Ink's colours follow FORCE_COLOR only, so it is told
// before it loads. A FORCE_COLOR the user set wins.
if (process.env.NO_COLOR && process.env.FORCE_COLOR === undefined) process.env.FORCE_COLOR = "0";
const { existsSync } = require("node:fs");
const { join } = require("node:path");
const { pathToFileURL } = require("node:url");
// Compiled code cached between runs (Node's compile cache, in the user's cache directory): a
// second start compiles less. A cache that cannot be written is no reason not to run.
try {
  require("node:module").enableCompileCache?.(join(process.env.XDG_CACHE_HOME || join(require("node:os").homedir(), ".cache"), "mathison-install", "compile-cache"));
} catch {
  // runs uncached
}
// No V8 flags are set here: a flag set changes V8's flag hash, and V8 then rejects the code cache
// Node ships for its own modules (src/base/young-generation.ts sets its flags once they are loaded).
const sources = join(__dirname, "..", "dist", "src", "cli", "main.js");
const entry = existsSync(sources) ? sources : join(__dirname, "..", "dist", "bundle", "main.js");
import(pathToFileURL(entry).href).then(async ({ main }) => {
  process.exitCode = await main(args, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
});

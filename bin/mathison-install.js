#!/usr/bin/env node
// Launcher. A checkout runs the compiled sources (dist/src, from `npm run build`); the published
// package holds only the bundle (dist/bundle, from `npm pack`).
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  process.stderr.write(`mathison-install: needs Node.js 22 or newer; this is ${process.version}\n  try: install Node.js 22 or newer (https://nodejs.org/, or a version manager: nvm install 22)\n`);
  // Not a bug in the installer (exit 1): the usage code, as for any input it cannot take.
  process.exit(2);
}
const [{ existsSync }, { default: module }, { homedir }, { join }, v8] = await Promise.all([
  import("node:fs"), import("node:module"), import("node:os"), import("node:path"), import("node:v8"),
]);
// Compiled code cached between runs (Node's compile cache, in the user's cache directory): a
// second start parses less. A cache that cannot be written is no reason not to run.
try {
  module.enableCompileCache?.(join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "mathison-install", "compile-cache"));
} catch {
  // runs uncached
}
// A short-lived CLI needs no large young generation: a fixed, small one keeps peak RSS about
// 20 MB lower (most memory is the Kubernetes client's generated API code) at no cost in time.
v8.setFlagsFromString("--semi-space-growth-factor=1");
v8.setFlagsFromString("--max-semi-space-size=2");
const sources = new URL("../dist/src/cli/main.js", import.meta.url);
const { main } = await import(existsSync(sources) ? sources.href : new URL("../dist/bundle/main.js", import.meta.url).href);
process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});

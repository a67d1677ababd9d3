#!/usr/bin/env node
// Launcher: the program lives in dist/ (compiled from src/).
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  process.stderr.write(`mathison-install: needs Node.js 22 or newer; this is ${process.version}\n  try: install Node.js 22 or newer (https://nodejs.org/, or a version manager: nvm install 22)\n`);
  // Not a bug in the installer (exit 1): the usage code, as for any input it cannot take.
  process.exit(2);
}
// A short-lived CLI needs no large young generation: a fixed, small one keeps peak RSS about
// 20 MB lower (most memory is the Kubernetes client's generated API code) at no cost in time.
const v8 = await import("node:v8");
v8.setFlagsFromString("--semi-space-growth-factor=1");
v8.setFlagsFromString("--max-semi-space-size=2");
const { main } = await import("../dist/src/cli/main.js");
process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});

#!/usr/bin/env node
// Launcher: the program lives in dist/ (compiled from src/).
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  process.stderr.write(`mathison-install: needs Node.js 22 or newer; this is ${process.version}\n`);
  process.exit(1);
}
const { main } = await import("../dist/src/cli/main.js");
process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});

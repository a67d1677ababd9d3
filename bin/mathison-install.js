#!/usr/bin/env node
// Launcher: the program lives in dist/ (compiled from src/).
import { main } from "../dist/src/cli/main.js";

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
process.exitCode = code;

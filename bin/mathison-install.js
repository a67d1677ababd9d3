#!/usr/bin/env node
// Launcher, CommonJS (bin/package.json): Node starts a CommonJS file without its ES module loader,
// so `--version` answers before any of it is set up. A checkout runs the compiled sources
// (dist/src, from `npm run build`); the published package holds only the bundle (dist/bundle).
"use strict";
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  // Printed before anything loads, so no wrapping: each line fits 80 columns as written.
  process.stderr.write(`mathison-install: needs Node.js 22 or newer; this is ${process.version}\n  try: install Node.js 22 or newer: https://nodejs.org/, or nvm install 22\n`);
  // Not a bug in the installer (exit 1): the usage code, as for any input it cannot take.
  process.exit(2);
}
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
  process.stdout.write(`${require("../package.json").version}\n`);
  return;
}
// Until a run takes Ctrl-C and SIGTERM over (to stop cleanly and say what was done: the
// pipeline's whileInterruptible), they end it at once with the documented code, 130, rather than
// a death by signal (143 for SIGTERM), from the first line that can: before it, Node's own
// handler ends the process by the signal. The wizard's screens read Ctrl-C as a key instead.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (process.listenerCount(signal) > 1) return;
    if (process.stdin.isTTY && process.stdin.isRaw) process.stdin.setRawMode(false);
    process.stderr.write(`${process.stderr.isTTY ? "\x1b[?25h\n" : ""}mathison-install: interrupted\n`);
    process.exit(130);
  });
}
// NO_COLOR (no-color.org) for every screen: Ink's colours follow FORCE_COLOR only, so it is told
// before it loads. A FORCE_COLOR the user set wins.
if (process.env.NO_COLOR && process.env.FORCE_COLOR === undefined) process.env.FORCE_COLOR = "0";
const fs = require("node:fs");
const { dirname, join } = require("node:path");
const { pathToFileURL } = require("node:url");
const cacheHome = join(process.env.XDG_CACHE_HOME || join(require("node:os").homedir(), ".cache"), "mathison-install");
// Compiled code cached between runs (Node's compile cache, in the user's cache directory): a
// second start compiles less. A cache that cannot be written is no reason not to run.
// MATHISON_NO_CODE_CACHE=1 turns both caches off (Node's and ours, below).
const cacheOff = Boolean(process.env.MATHISON_NO_CODE_CACHE);
try {
  if (!cacheOff) require("node:module").enableCompileCache?.(join(cacheHome, "compile-cache"));
} catch {
  // runs uncached
}
const named = args[0] !== undefined && !args[0].startsWith("-");
const command = named ? args[0].replace(/[^a-z-]/g, "") : "install";
// Backup and restore stream a database: V8's young generation bounded before anything loads (the
// flags of src/base/young-generation.ts, which an install sets as it takes its backup). Other runs
// set no V8 flag: a flag set changes V8's flag hash, and V8 then rejects the code caches, Node's
// of its own modules and the program's.
const streams = command === "backup" || command === "restore";
if (streams) {
  const v8 = require("node:v8");
  v8.setFlagsFromString("--semi-space-growth-factor=1");
  v8.setFlagsFromString("--max-semi-space-size=2");
}
const sources = join(__dirname, "..", "dist", "src", "cli", "main.js");
const io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
if (fs.existsSync(sources)) {
  import(pathToFileURL(sources).href).then(async ({ main }) => exitWith(await main(args, io)));
} else {
  const { main } = loadBundle(join(__dirname, "..", "dist", "bundle", "main.cjs"));
  main(args, io).then(exitWith);
}

/**
 * The program has said its last line: the process ends with its code once stdout and stderr have
 * taken what was written (a pipe may still hold some), whatever handle is still open. A run that
 * ended must never wait on a socket or timer it forgot (an interrupted upgrade once stayed alive
 * for minutes after its last line).
 */
function exitWith(code) {
  process.exitCode = code;
  let open = 2;
  const flushed = () => --open === 0 && process.exit(code);
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.destroyed || !stream.writable) flushed();
    else stream.write("", flushed);
  }
  // A reader that never drains (a paused pipe) cannot hold the run either.
  setTimeout(() => process.exit(code), 2_000).unref();
}

/**
 * The published program, compiled with the code cache V8 wrote after an earlier run of the same
 * command. Node's compile cache is written as a module loads, so it holds only the code V8
 * compiles then; every function a run calls later was compiled again at each start (a
 * preflight's took about 20 ms of its 150). A cache written after the run holds those too. One
 * cache per command, since each runs other code, written by its first run that succeeds.
 * The cache is keyed by a hash of the bundle's bytes (0.3 ms), never by its version alone: V8
 * checks only the source's length, so a rebuild of the same version (a local build, npm link, a
 * re-pack) would otherwise run the code of the build before. A cache V8 rejects (another Node, a
 * corrupt file) is written again; one that cannot be read or written is no reason not to run.
 */
function loadBundle(file) {
  const vm = require("node:vm");
  const bytes = fs.readFileSync(file);
  const source = bytes.toString("utf8");
  const cacheFile = cacheOff ? undefined : codeCacheFile(bytes);
  let cachedData;
  try {
    if (cacheFile) cachedData = fs.readFileSync(cacheFile);
  } catch {
    // first run of this command
  }
  // Strict, as every test runs the sources (ES modules): the banner before the bundle's own
  // "use strict" keeps that from being a directive, so it is the wrapper's.
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname, __loadTerminal) {"use strict";${source}\n})`,
    { filename: file, cachedData },
  );
  // Written by a run that succeeded: one that stopped early (refused, cancelled) ran little of the
  // command. (Backup's and restore's flags are set before this compiles: their caches hold.)
  if (cacheFile && (cachedData === undefined || script.cachedDataRejected))
    process.once("exit", (code) => code === 0 && saveCodeCache(script, cacheFile));
  const module = { exports: {} };
  // The terminal screens are an ES module (Ink and yoga use top-level await), imported from here.
  const loadTerminal = () => import(pathToFileURL(join(dirname(file), "terminal.mjs")).href);
  script.runInThisContext()(
    module.exports,
    require("node:module").createRequire(file),
    module,
    file,
    dirname(file),
    loadTerminal,
  );
  return module.exports;
}

/** code-cache/BUNDLE-HASH-NODE-ARCH/RUN.bin: a command's help or dry run runs little of it, so theirs are their own. */
function codeCacheFile(bytes) {
  const hash = require("node:crypto").createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  const help = args.includes("--help") || args.includes("-h");
  const run = help ? "help" : args.includes("--dry-run") ? `${command}-dry-run` : command;
  return join(cacheHome, "code-cache", `${hash}-${process.version}-${process.arch}`, `${run}.bin`);
}

function saveCodeCache(script, cacheFile) {
  const partial = `${cacheFile}.${process.pid}.partial`;
  try {
    const dir = dirname(cacheFile);
    if (!fs.existsSync(dir)) {
      // Another build's or Node's caches are of no more use.
      fs.rmSync(dirname(dir), { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    fs.writeFileSync(partial, script.createCachedData(), { mode: 0o600 });
    fs.renameSync(partial, cacheFile);
  } catch {
    // Runs uncached next time too; a write that failed half-way (a full disk) leaves nothing behind.
    try {
      fs.rmSync(partial, { force: true });
    } catch {
      // nothing more to do
    }
  }
}

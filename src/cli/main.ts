import { formatProblem } from "../config/types.js";
import { parseCommandLine, type Command, type ParsedArgs } from "./args.js";
import { helpText } from "./help.js";
import { widthOf, wrapLines } from "../ui/wrap.js";
import { closableOutput } from "./closable-output.js";
import { runCleanups } from "../base/cleanups.js";
import { EXIT_CODE_MEANINGS, ExitCode, UserError, type ExitCodeValue } from "../base/exit-codes.js";
import { outcomeOfExit } from "../engine/outcomes.js";
import type { CliIO } from "../base/io.js";
import { packageVersion } from "../base/version.js";
import { invoked, setInvocation } from "../base/invocation.js";
import { JsonReporter, jsonDoneWritten, newJsonStream } from "../ui/json-reporter.js";

const stdoutClosed = (): string =>
  `mathison-install: standard output was closed (its reader ended); the run goes on to its end without printing to it, and records its outcome (${invoked()} status shows it)\n`;

type Runner = (args: ParsedArgs, io: CliIO) => Promise<ExitCodeValue>;

/**
 * The commands' module, loaded only when a command runs, so that `--help` never loads the
 * Kubernetes client or Ink: one module for all of them (in the published bundle they are part of
 * its one CommonJS file, scripts/bundle.mjs), what only the terminal screens need apart
 * (ui/terminal.ts).
 */
const commands = () => import("./commands/index.js");

const COMMAND_RUNNERS: Record<Exclude<Command, "render">, () => Promise<Runner>> = {
  install: async () => (await commands()).runInstall,
  verify: async () => (await commands()).runVerify,
  "support-bundle": async () => (await commands()).runSupportBundle,
  preflight: async () => (await commands()).runPreflight,
  status: async () => (await commands()).runStatus,
  uninstall: async () => (await commands()).runUninstall,
  backup: async () => (await commands()).runBackup,
  restore: async () => (await commands()).runRestore,
  export: async () => (await commands()).runExport,
  secrets: async () => (await commands()).runSecrets,
};

/**
 * The whole program behind the launcher. Commands load their modules on demand so that
 * `--version` and `--help` start fast and never load the Kubernetes client or Ink.
 */
export async function main(argv: readonly string[], given: CliIO): Promise<ExitCodeValue> {
  setInvocation(given.env);
  const io = closableOutput(given, (which) => {
    if (which === "stdout") io.stderr.write(stdoutClosed());
  });
  const startedAt = Date.now();
  newJsonStream();
  const json = writesJsonLines(argv);
  interruptWhilePlanning(io, startedAt, json);
  const code = await runCommand(argv, io);
  if (json) closeStream(io, code, startedAt);
  return code;
}

/** A run with --output json writes JSON Lines to stdout (--help and --version text). */
function writesJsonLines(argv: readonly string[]): boolean {
  const json = argv.some((a, i) => a === "--output=json" || (a === "--output" && argv[i + 1] === "json"));
  const quiet = argv.some((a) => ["--help", "-h", "--version", "-v"].includes(a));
  return json && !quiet;
}

/**
 * Every JSON Lines stream ends with one `done` that agrees with the exit code: a path that ended
 * without writing one (bad input, no cluster, a bug) gets it here, from its code, whatever the
 * command — so no path added later can leave a script without its last event.
 */
function closeStream(io: CliIO, code: ExitCodeValue, startedAt: number): void {
  if (jsonDoneWritten()) return;
  new JsonReporter(io.stdout).event({
    event: "done",
    ok: code === ExitCode.ok,
    outcome: outcomeOfExit(code),
    elapsedMs: Date.now() - startedAt,
    applied: 0,
    total: 0,
    message: `exit ${code}: ${EXIT_CODE_MEANINGS[code].short} (stderr says why)`,
  });
}

async function runCommand(argv: readonly string[], io: CliIO): Promise<ExitCodeValue> {
  try {
    const args = parseCommandLine(argv);
    if (args.booleans["version"]) {
      io.stdout.write(`${packageVersion()}\n`);
      return ExitCode.ok;
    }
    if (args.booleans["help"]) {
      // `mathison-install verify --help` is verify's own; a bare --help the whole program's.
      const named = argv[0] !== undefined && !argv[0].startsWith("-");
      io.stdout.write(helpText(packageVersion(), named ? args.command : undefined, widthOf(io.stdout)));
      return ExitCode.ok;
    }
    switch (args.command) {
      case "render": {
        const { loadConfig, runRender } = await commands();
        const loaded = loadConfig({ flags: args.strings, env: io.env });
        if (!loaded.ok) {
          for (const p of loaded.problems) io.stderr.write(`mathison-install: ${formatProblem(p)}\n`);
          io.stderr.write(`nothing was rendered; ${invoked()} render --help lists every setting\n`);
          return ExitCode.usage;
        }
        return runRender(
          loaded.config,
          {
            outDir: args.strings["out"],
            showSecrets: args.booleans["show-secrets"] ?? false,
            images: args.booleans["images"] ?? false,
          },
          io,
        );
      }
      default:
        // Awaited here, so a rejection is reported below as a bug, not left unhandled.
        return await (await COMMAND_RUNNERS[args.command]())(args, io);
    }
  } catch (err) {
    if (err instanceof UserError) {
      io.stderr.write(`${wrapLines([`mathison-install: ${err.message}`], widthOf(io.stderr)).join("\n")}\n`);
      if (err.hint) io.stderr.write(`  try: ${err.hint}\n`);
      return err.exitCode;
    }
    io.stderr.write(
      `mathison-install: internal error (this is a bug, please report it): ${(err as Error).stack ?? String(err)}\n`,
    );
    return ExitCode.internal;
  }
}

/**
 * Ctrl-C or SIGTERM where none of a run's steps takes signals over (planning, verifying: no lock
 * to release): what planning made (a client pod) is undone, within a second, and with JSON the
 * stream ends with `done`, interrupted, as every stream does. The launcher's handler defers to
 * this one; a run's own (whileInterruptible) to neither.
 */
function interruptWhilePlanning(io: CliIO, startedAt: number, json: boolean): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (process.listenerCount(signal) > 2) return;
      if (json) closeStream(io, ExitCode.interrupted, startedAt);
      if (process.stdin.isTTY && process.stdin.isRaw) process.stdin.setRawMode(false);
      io.stderr.write(`${process.stderr.isTTY ? "\x1b[?25h\n" : ""}mathison-install: interrupted\n`);
      process.exitCode = ExitCode.interrupted;
      // What planning made (a client pod) goes first, within the second an interrupt may take.
      void runCleanups(800).then(() => io.stdout.write("", () => process.exit(ExitCode.interrupted)));
      setTimeout(() => process.exit(ExitCode.interrupted), 1_000).unref();
    });
  }
}

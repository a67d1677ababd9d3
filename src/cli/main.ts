import { formatProblem } from "../config/types.js";
import { parseCommandLine } from "./args.js";
import { ExitCode, UserError, type ExitCodeValue } from "./exit-codes.js";
import { helpText } from "./help.js";
import type { CliIO } from "./io.js";
import { packageVersion } from "./version.js";

/**
 * The whole program behind the launcher. Commands load their modules on demand so that
 * `--version` and `--help` start fast and never load the Kubernetes client or Ink.
 */
export async function main(argv: readonly string[], io: CliIO): Promise<ExitCodeValue> {
  try {
    const args = parseCommandLine(argv);
    if (args.booleans["version"]) {
      io.stdout.write(`${packageVersion()}\n`);
      return ExitCode.ok;
    }
    if (args.booleans["help"]) {
      io.stdout.write(helpText(packageVersion()));
      return ExitCode.ok;
    }
    switch (args.command) {
      case "render": {
        const { loadConfig } = await import("../config/load.js");
        const loaded = loadConfig({ flags: args.strings, env: io.env });
        if (!loaded.ok) {
          for (const p of loaded.problems) io.stderr.write(`mathison-install: ${formatProblem(p)}\n`);
          io.stderr.write("nothing was rendered; mathison-install render --help lists every setting\n");
          return ExitCode.usage;
        }
        const { runRender } = await import("./commands/render.js");
        return runRender(loaded.config, { outDir: args.strings["out"], showSecrets: args.booleans["show-secrets"] ?? false }, io);
      }
      case "install": {
        const { runInstall } = await import("./commands/install.js");
        return await runInstall(args, io);
      }
      case "verify": {
        const { runVerify } = await import("./commands/verify.js");
        return await runVerify(args, io);
      }
      case "support-bundle": {
        const { runSupportBundle } = await import("./commands/support-bundle.js");
        return await runSupportBundle(args, io);
      }
      case "preflight": {
        const { runPreflight } = await import("./commands/preflight.js");
        return await runPreflight(args, io);
      }
      case "status": {
        const { runStatus } = await import("./commands/status.js");
        return await runStatus(args, io);
      }
      case "uninstall": {
        const { runUninstall } = await import("./commands/uninstall.js");
        return await runUninstall(args, io);
      }
    }
  } catch (err) {
    if (err instanceof UserError) {
      io.stderr.write(`mathison-install: ${err.message}\n`);
      if (err.hint) io.stderr.write(`  try: ${err.hint}\n`);
      return err.exitCode;
    }
    io.stderr.write(`mathison-install: internal error (this is a bug, please report it): ${(err as Error).stack ?? String(err)}\n`);
    return ExitCode.internal;
  }
}

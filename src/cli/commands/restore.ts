import { resolve } from "node:path";
import { runRestore as restorePipeline, type RestoreFrontEnd } from "../../pipeline/restore.js";
import type { OutputFormat } from "../../ui/choose-reporter.js";
import { scriptFrontEnd } from "../../ui/script-front-end.js";
import { widthOf, wrapLines } from "../../ui/wrap.js";
import type { ParsedArgs } from "../args.js";
import { commandFlags, refused } from "./common.js";
import { isNonInteractive } from "./install.js";
import type { ExitCodeValue } from "../../base/exit-codes.js";
import type { CliIO } from "../../base/io.js";
import { loadTerminal } from "../../ui/load-terminal.js";
import { invoked } from "../../base/invocation.js";

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/**
 * `mathison-install restore FILE`: the database replaced by a backup, under the install's lock.
 * A person confirms by typing the namespace; a script says --yes.
 */
export async function runRestore(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const problems: string[] = [];
  const flags = commandFlags(args, io, problems, { timeoutMs: DEFAULT_TIMEOUT_MS });
  const files = args.positionals ?? [];
  if (files.length !== 1)
    problems.push(
      `FILE: ${files.length === 0 ? "missing" : `${files.length} given`}: restore takes one backup file, as ${invoked()} backup wrote it (its manifest FILE.json beside it)`,
    );
  const interactive = !isNonInteractive(args, io);
  if (!interactive && !args.booleans["yes"])
    problems.push("--yes: missing: a non-interactive restore replaces the database only when told to; add --yes");
  if (problems.length > 0 || !flags) return refused(problems, io, "nothing was restored", "restore");
  const { cluster, lockTimeoutMs, network, namespace } = flags;
  const frontEnd = await restoreFrontEnd(io, flags.output, interactive);
  return restorePipeline(
    { cluster, namespace, file: resolve(files[0]!), lockTimeoutMs, timeoutMs: flags.timeoutMs!, network },
    frontEnd,
  );
}

/** Steps as plain lines or JSON events (the script front end's); the confirm typed in a terminal, --yes otherwise. */
async function restoreFrontEnd(io: CliIO, format: OutputFormat, interactive: boolean): Promise<RestoreFrontEnd> {
  const script = scriptFrontEnd({ flags: {}, io, format, replaceSecrets: [] });
  const confirm = async (namespace: string): Promise<boolean> => {
    if (!interactive) return true;
    const { askToType } = await loadTerminal();
    return askToType(`Type ${namespace} to replace its database (Enter cancels)`, namespace, {
      input: io.stdin,
      output: io.stderr,
    });
  };
  return {
    ...script,
    showRestorePlan: (lines) => io.stderr.write(`${wrapLines(lines, widthOf(io.stderr)).join("\n")}\n`),
    confirm,
  };
}

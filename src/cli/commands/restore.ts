import { resolve } from "node:path";
import { runRestore as restorePipeline, type RestoreFrontEnd } from "../../pipeline/restore.js";
import type { OutputFormat } from "../../ui/choose-reporter.js";
import { scriptFrontEnd } from "../../ui/script-front-end.js";
import { widthOf, wrapLines } from "../../ui/wrap.js";
import type { ParsedArgs } from "../args.js";
import { lockedRunFlags, outputAndNamespace, parseDuration } from "./common.js";
import { isNonInteractive } from "./install.js";
import { ExitCode, type ExitCodeValue } from "../../base/exit-codes.js";
import type { CliIO } from "../../base/io.js";
import { loadTerminal } from "../../ui/load-terminal.js";
import { invoked } from "../../base/invocation.js";

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/**
 * `mathison-install restore FILE`: the database replaced by a backup, under the install's lock.
 * A person confirms by typing the namespace; a script says --yes.
 */
export async function runRestore(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const parsed = outputAndNamespace(args, io);
  if (typeof parsed === "number") return parsed;
  const problems: string[] = [];
  const files = args.positionals ?? [];
  if (files.length !== 1)
    problems.push(
      `FILE: ${files.length === 0 ? "missing" : `${files.length} given`}: restore takes one backup file, as ${invoked()} backup wrote it (its manifest FILE.json beside it)`,
    );
  const interactive = !isNonInteractive(args, io);
  if (!interactive && !args.booleans["yes"])
    problems.push("--yes: missing: a non-interactive restore replaces the database only when told to; add --yes");
  const timeoutFlag = args.strings["timeout"];
  const timeoutMs = timeoutFlag === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(timeoutFlag);
  if (timeoutMs === undefined)
    problems.push(`--timeout: ${JSON.stringify(timeoutFlag)} is not allowed: a duration such as 90s or 10m`);
  const flags = lockedRunFlags(args, io, problems);
  if (problems.length > 0 || timeoutMs === undefined || !flags) {
    for (const p of problems) io.stderr.write(`mathison-install: ${p}\n`);
    io.stderr.write(`nothing was restored; ${invoked()} restore --help lists the flags\n`);
    return ExitCode.usage;
  }
  const { cluster, lockTimeoutMs, network } = flags;
  const frontEnd = await restoreFrontEnd(io, parsed.output, interactive);
  return restorePipeline(
    { cluster, namespace: parsed.namespace, file: resolve(files[0]!), lockTimeoutMs, timeoutMs, network },
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

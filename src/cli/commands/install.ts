import { parseReplaceSecrets } from "../../config/installed.js";
import { loadConfig } from "../../config/load.js";
import { formatProblem } from "../../config/types.js";
import type { FrontEnd } from "../../pipeline/front-end.js";
import { runInstallPipeline } from "../../pipeline/install.js";
import { STAGES, type StageId } from "../../render/stages.js";
import { OUTPUT_FORMATS, type OutputFormat } from "../../ui/choose-reporter.js";
import type { ParsedArgs } from "../args.js";
import { widthOf, wrapLines } from "../../ui/wrap.js";
import { connectOptions, lockTimeout, networkOptions, parseDuration } from "./common.js";
import { ExitCode, type ExitCodeValue } from "../../base/exit-codes.js";
import { type CliIO } from "../../base/io.js";

export { parseDuration };

/**
 * Checks what the user gave before the cluster is touched (values that are wrong whatever the
 * install holds), then runs the one install pipeline with the wizard or the script front end.
 */
export async function runInstall(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const output = (args.strings["output"] ?? "plain") as OutputFormat;
  const problems: string[] = [];
  if (!OUTPUT_FORMATS.includes(output)) problems.push(`--output: ${JSON.stringify(output)} is not allowed: ${OUTPUT_FORMATS.join(" or ")}`);
  const timeoutFlag = args.strings["timeout"];
  const timeoutMs = timeoutFlag === undefined ? undefined : parseDuration(timeoutFlag);
  if (timeoutFlag !== undefined && timeoutMs === undefined) problems.push(`--timeout: ${JSON.stringify(timeoutFlag)} is not allowed: a duration such as 90s, 10m or 1h`);
  const replace = parseReplaceSecrets(args.strings["replace-secret"]);
  problems.push(...replace.problems.map(formatProblem));
  // Missing values may still come from the install record; invalid ones are invalid anyway.
  const given = loadConfig({ flags: args.strings, env: io.env });
  if (!given.ok) problems.push(...given.problems.map(formatProblem));
  const network = networkOptions(args);
  if (typeof network === "string") problems.push(network);
  const cluster = connectOptions(args, io);
  if (typeof cluster === "string") problems.push(cluster);
  const lockTimeoutMs = lockTimeout(args);
  if (typeof lockTimeoutMs === "string") problems.push(lockTimeoutMs);
  if (problems.length > 0 || !given.ok || typeof network === "string" || typeof cluster === "string" || typeof lockTimeoutMs === "string") return usage(problems, io);

  const interactive = !isNonInteractive(args, io);
  const timeoutsMs = timeoutMs === undefined ? undefined : Object.fromEntries(STAGES.map((s) => [s.id, timeoutMs])) as Record<StageId, number>;
  const frontEnd: FrontEnd = interactive
    ? (await import("../../ui/wizard/front-end.js")).wizardFrontEnd({ flags: args.strings, env: io.env, stdin: io.stdin as NodeJS.ReadStream, stderr: io.stderr as NodeJS.WriteStream, replaceSecrets: replace.keys })
    : (await import("../../ui/script-front-end.js")).scriptFrontEnd({ flags: args.strings, io, format: output, replaceSecrets: replace.keys });
  return runInstallPipeline({
    cluster,
    namespace: given.config.namespace,
    dryRun: args.booleans["dry-run"] ?? false,
    pull: args.booleans["pull"] ?? false,
    skipPreflight: args.booleans["skip-preflight"] ?? false,
    forceNamespace: args.booleans["force-namespace"] ?? false,
    skipVerify: args.booleans["skip-verify"] ?? false,
    lockTimeoutMs,
    network,
    engine: timeoutsMs ? { timeoutsMs } : {},
  }, frontEnd);
}

/**
 * Interactive unless told otherwise: `--non-interactive`, `--output json` (the output is for a
 * program), stdin not a terminal, or a CI environment (as the is-in-ci convention detects it).
 */
export function isNonInteractive(args: ParsedArgs, io: Pick<CliIO, "stdin" | "env">): boolean {
  return args.booleans["non-interactive"] === true || args.strings["output"] === "json" || io.stdin.isTTY !== true || isCI(io.env);
}

export function isCI(env: Readonly<Record<string, string | undefined>>): boolean {
  const ci = env["CI"];
  if (ci !== undefined) return ci !== "0" && ci.toLowerCase() !== "false";
  return env["CONTINUOUS_INTEGRATION"] !== undefined || Object.keys(env).some((k) => k.startsWith("CI_"));
}

function usage(problems: readonly string[], io: CliIO): ExitCodeValue {
  for (const p of problems) io.stderr.write(`${wrapLines([`mathison-install: ${p}`], widthOf(io.stderr)).join("\n")}\n`);
  io.stderr.write("nothing was applied; mathison-install install --help lists every setting\n");
  return ExitCode.usage;
}

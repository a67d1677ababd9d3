import { loadConfig } from "../../config/load.js";
import { formatProblem } from "../../config/types.js";
import {
  runUninstall as uninstallPipeline,
  type RemovalPlan,
  type UninstallFrontEnd,
} from "../../pipeline/uninstall.js";
import { OUTPUT_FORMATS, type OutputFormat } from "../../ui/choose-reporter.js";
import { scriptFrontEnd as script } from "../../ui/script-front-end.js";
import type { ParsedArgs } from "../args.js";
import { connectOptions, lockTimeout, parseDuration } from "./common.js";
import { isNonInteractive } from "./install.js";
import { ExitCode, type ExitCodeValue } from "../../base/exit-codes.js";
import type { CliIO } from "../../base/io.js";
import { loadTerminal } from "../../ui/load-terminal.js";
import { invoked } from "../../base/invocation.js";

const DEFAULT_TIMEOUT_MS = 2 * 60_000;

/**
 * `mathison-install uninstall`: everything the install applied goes; the database volumes and the
 * Secret stay unless --delete-data. A person confirms by typing the namespace; a script says --yes.
 */
export async function runUninstall(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const output = (args.strings["output"] ?? "plain") as OutputFormat;
  const given = loadConfig({ flags: args.strings, env: io.env });
  const problems = given.ok ? [] : given.problems.map(formatProblem);
  if (!OUTPUT_FORMATS.includes(output))
    problems.push(`--output: ${JSON.stringify(output)} is not allowed: ${OUTPUT_FORMATS.join(" or ")}`);
  const timeoutFlag = args.strings["timeout"];
  const timeoutMs = timeoutFlag === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(timeoutFlag);
  if (timeoutMs === undefined)
    problems.push(`--timeout: ${JSON.stringify(timeoutFlag)} is not allowed: a duration such as 90s, 10m or 1h`);
  const interactive = !isNonInteractive(args, io);
  const deleteData = args.booleans["delete-data"] ?? false;
  if (!interactive && !args.booleans["yes"]) {
    problems.push(
      `--yes: missing: a non-interactive uninstall deletes the install only when told to; add --yes${deleteData ? " (with --delete-data the database volumes and the Secret go too)" : " (the database volumes and the Secret stay; --delete-data deletes them too)"}`,
    );
  }
  const cluster = connectOptions(args, io);
  if (typeof cluster === "string") problems.push(cluster);
  const lockTimeoutMs = lockTimeout(args);
  if (typeof lockTimeoutMs === "string") problems.push(lockTimeoutMs);
  if (
    problems.length > 0 ||
    !given.ok ||
    timeoutMs === undefined ||
    typeof cluster === "string" ||
    typeof lockTimeoutMs === "string"
  ) {
    for (const p of problems) io.stderr.write(`mathison-install: ${p}\n`);
    io.stderr.write(`nothing was deleted; ${invoked()} uninstall --help lists the flags\n`);
    return ExitCode.usage;
  }
  const frontEnd = interactive ? await interactiveFrontEnd(args, io) : await scriptFrontEnd(args, io, output);
  return uninstallPipeline(
    {
      cluster,
      lockTimeoutMs,
      namespace: given.config.namespace,
      deleteData,
      timeoutMs,
      backup: { skip: args.booleans["no-backup"] ?? false, dir: args.strings["backup-dir"] },
      env: io.env,
    },
    frontEnd,
  );
}

async function scriptFrontEnd(args: ParsedArgs, io: CliIO, format: OutputFormat): Promise<UninstallFrontEnd> {
  return { ...script({ flags: args.strings, io, format, replaceSecrets: [] }), confirm: async () => true };
}

async function interactiveFrontEnd(args: ParsedArgs, io: CliIO): Promise<UninstallFrontEnd> {
  const { wizardFrontEnd, askToType } = await loadTerminal();
  const prompt = { input: io.stdin, output: io.stderr };
  const confirm = async (plan: RemovalPlan): Promise<boolean> => {
    if (!(await askToType(`Type ${plan.namespace} to delete Mathison (Enter cancels)`, plan.namespace, prompt)))
      return false;
    if (plan.dataLost.length === 0) return true;
    const lost = plan.dataLost.map((d) => d.object).join(", ");
    return askToType(
      `--delete-data deletes ${lost} for good. Type ${plan.namespace} again to delete the data`,
      plan.namespace,
      prompt,
    );
  };
  return {
    ...wizardFrontEnd({
      flags: args.strings,
      env: io.env,
      stdin: io.stdin as NodeJS.ReadStream,
      stderr: io.stderr as NodeJS.WriteStream,
      replaceSecrets: [],
      action: "uninstall",
    }),
    confirm,
  };
}

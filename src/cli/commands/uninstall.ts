import type { RemovalPlan } from "../../pipeline/removal-plan.js";
import { runUninstall as uninstallPipeline, type UninstallFrontEnd } from "../../pipeline/uninstall.js";
import type { OutputFormat } from "../../ui/choose-reporter.js";
import { scriptFrontEnd as script } from "../../ui/script-front-end.js";
import type { ParsedArgs } from "../args.js";
import { commandFlags, refused } from "./common.js";
import { isNonInteractive } from "./install.js";
import type { ExitCodeValue } from "../../base/exit-codes.js";
import type { CliIO } from "../../base/io.js";
import { loadTerminal } from "../../ui/load-terminal.js";

const DEFAULT_TIMEOUT_MS = 2 * 60_000;

/**
 * `mathison-install uninstall`: everything the install applied goes; the database volumes and the
 * Secret stay unless --delete-data. A person confirms by typing the namespace; a script says --yes.
 */
export async function runUninstall(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const problems: string[] = [];
  const flags = commandFlags(args, io, problems, { timeoutMs: DEFAULT_TIMEOUT_MS });
  const interactive = !isNonInteractive(args, io);
  const deleteData = args.booleans["delete-data"] ?? false;
  if (!interactive && !args.booleans["yes"]) {
    problems.push(
      `--yes: missing: a non-interactive uninstall deletes the install only when told to; add --yes${deleteData ? " (with --delete-data the database volumes and the Secret go too)" : " (the database volumes and the Secret stay; --delete-data deletes them too)"}`,
    );
  }
  if (problems.length > 0 || !flags) return refused(problems, io, "nothing was deleted", "uninstall");
  const { cluster, lockTimeoutMs, namespace, output } = flags;
  const timeoutMs = flags.timeoutMs!;
  const frontEnd = interactive ? await interactiveFrontEnd(args, io) : await scriptFrontEnd(args, io, output);
  return uninstallPipeline(
    {
      cluster,
      lockTimeoutMs,
      namespace,
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

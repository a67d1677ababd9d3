import { parseReplaceSecrets, parseRotate } from "../../config/installed.js";
import type { GivenSources } from "../../config/load.js";
import { formatProblem } from "../../config/types.js";
import type { FrontEnd } from "../../pipeline/front-end.js";
import { runInstallPipeline, type PipelineOptions } from "../../pipeline/install.js";
import type { SecretKey } from "../../config/secret-keys.js";
import { STAGES, type StageId } from "../../render/stages.js";
import type { OutputFormat } from "../../ui/choose-reporter.js";
import type { ParsedArgs } from "../args.js";
import { commandFlags, refused } from "./common.js";
import { scriptFrontEnd } from "../../ui/script-front-end.js";
import type { ExitCodeValue } from "../../base/exit-codes.js";
import type { CliIO } from "../../base/io.js";
import { loadTerminal } from "../../ui/load-terminal.js";

export { parseDuration } from "./common.js";

/** What the flags say of a run, checked before the cluster is touched. */
interface InstallRun {
  readonly options: PipelineOptions;
  readonly output: OutputFormat;
  readonly replaceSecrets: readonly SecretKey[];
  readonly rotateSecrets: readonly SecretKey[];
  /** Flags, environment and values file as read once here: the front end does not read the files again. */
  readonly given: GivenSources;
}

/**
 * Checks what the user gave before the cluster is touched (values that are wrong whatever the
 * install holds), then runs the one install pipeline with the wizard or the script front end.
 */
export async function runInstall(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const run = installRun(args, io);
  if (typeof run === "number") return run;
  const interactive = !isNonInteractive(args, io);
  const frontEnd: FrontEnd = interactive
    ? (await loadTerminal()).wizardFrontEnd({
        flags: args.strings,
        env: io.env,
        given: run.given,
        stdin: io.stdin as NodeJS.ReadStream,
        stderr: io.stderr as NodeJS.WriteStream,
        replaceSecrets: run.replaceSecrets,
        rotateSecrets: run.rotateSecrets,
      })
    : scriptFrontEnd({
        flags: args.strings,
        io,
        given: run.given,
        format: run.output,
        replaceSecrets: run.replaceSecrets,
        rotateSecrets: run.rotateSecrets,
      });
  return runInstallPipeline(run.options, frontEnd);
}

/** `mathison-install preflight`: the install's run with the answers an install would use, stopped after its checks; writes nothing. */
export async function runPreflight(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const run = installRun(args, io);
  if (typeof run === "number") return run;
  return runInstallPipeline(
    { ...run.options, stopAfter: "preflight" },
    scriptFrontEnd({
      flags: args.strings,
      io,
      given: run.given,
      format: run.output,
      replaceSecrets: [],
      apiKeyMayComeLater: true,
    }),
  );
}

/** The flags of an install (or its preflight) as pipeline options; every problem printed, exit 2. */
function installRun(args: ParsedArgs, io: CliIO): InstallRun | ExitCodeValue {
  const problems: string[] = [];
  // Missing values may still come from the install record; invalid ones are invalid anyway.
  const flags = commandFlags(args, io, problems);
  const replace = parseReplaceSecrets(args.strings["replace-secret"]);
  problems.push(...replace.problems.map(formatProblem));
  const rotate = parseRotate(args.strings["rotate"]);
  if (typeof rotate === "string") problems.push(rotate);
  if (problems.length > 0 || !flags) return refused(problems, io, "nothing was applied", args.command);
  const { cluster, lockTimeoutMs, network, timeoutMs, output } = flags;
  const timeoutsMs =
    timeoutMs === undefined
      ? undefined
      : (Object.fromEntries(STAGES.map((s) => [s.id, timeoutMs])) as Record<StageId, number>);
  const options: PipelineOptions = {
    cluster,
    namespace: flags.namespace,
    dryRun: args.booleans["dry-run"] ?? false,
    pull: args.booleans["pull"] ?? false,
    skipPreflight: args.booleans["skip-preflight"] ?? false,
    forceNamespace: args.booleans["force-namespace"] ?? false,
    skipVerify: args.booleans["skip-verify"] ?? false,
    lockTimeoutMs,
    network,
    engine: timeoutsMs ? { timeoutsMs } : {},
    backup: { skip: args.booleans["no-backup"] ?? false, dir: args.strings["backup-dir"] },
    env: io.env,
    leaveGitops: args.booleans["leave-gitops"] ?? false,
    deleteParkedPostgres: args.booleans["delete-parked-postgres"] ?? false,
  };
  return {
    options,
    output,
    replaceSecrets: replace.keys,
    rotateSecrets: typeof rotate === "string" ? [] : rotate,
    given: flags.given,
  };
}

/**
 * Interactive unless told otherwise: `--non-interactive`, `--output json` (the output is for a
 * program), stdin not a terminal, or a CI environment (as the is-in-ci convention detects it).
 */
export function isNonInteractive(args: ParsedArgs, io: Pick<CliIO, "stdin" | "env">): boolean {
  return (
    args.booleans["non-interactive"] === true ||
    args.strings["output"] === "json" ||
    io.stdin.isTTY !== true ||
    isCI(io.env)
  );
}

export function isCI(env: Readonly<Record<string, string | undefined>>): boolean {
  const ci = env["CI"];
  if (ci !== undefined) return ci !== "0" && ci.toLowerCase() !== "false";
  return env["CONTINUOUS_INTEGRATION"] !== undefined || Object.keys(env).some((k) => k.startsWith("CI_"));
}

import { PREFLIGHT_CHECKS } from "../../checks/preflight/index.js";
import { runChecks } from "../../checks/types.js";
import { loadConfig } from "../../config/load.js";
import { formatProblem } from "../../config/types.js";
import { connect } from "../../kube/client.js";
import { ClusterAccessError, KubeApiError } from "../../kube/types.js";
import { installedOf } from "../../pipeline/install.js";
import { readInstallState } from "../../record/store.js";
import { renderPlan } from "../../render/render.js";
import { chooseReporter, OUTPUT_FORMATS, type OutputFormat } from "../../ui/choose-reporter.js";
import type { ParsedArgs } from "../args.js";
import { ExitCode, type ExitCodeValue } from "../exit-codes.js";
import type { CliIO } from "../io.js";

/** `mathison-install preflight`: the install's checks alone, with the answers an install would use; writes nothing. */
export async function runPreflight(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const output = (args.strings["output"] ?? "plain") as OutputFormat;
  const usage = (lines: readonly string[]): ExitCodeValue => {
    for (const l of lines) io.stderr.write(`mathison-install: ${l}\n`);
    return ExitCode.usage;
  };
  if (!OUTPUT_FORMATS.includes(output)) return usage([`--output: ${JSON.stringify(output)} is not allowed: ${OUTPUT_FORMATS.join(" or ")}`]);
  const given = loadConfig({ flags: args.strings, env: io.env });
  if (!given.ok) return usage(given.problems.map(formatProblem));
  try {
    const kube = connect({ kubeconfig: args.strings["kubeconfig"], context: args.strings["context"] });
    const state = await readInstallState(kube, given.config.namespace);
    const loaded = loadConfig({ flags: args.strings, env: io.env, forInstall: true, installed: installedOf(state), apiKeyMayComeLater: true });
    if (!loaded.ok) return usage(loaded.problems.map(formatProblem));
    const reporter = chooseReporter({ format: output, stdout: io.stdout, stderr: io.stderr, env: io.env });
    const context = { kube, rendered: renderPlan(loaded.config, undefined, state.record.pullToken ? { pullToken: state.record.pullToken } : {}), config: loaded.config, state, forceNamespace: args.booleans["force-namespace"] ?? false };
    const outcomes = await runChecks(PREFLIGHT_CHECKS, context);
    for (const o of outcomes) reporter.event({ event: "check", phase: "preflight", ...o });
    return outcomes.some((o) => o.status === "fail") ? ExitCode.preflight : ExitCode.ok;
  } catch (err) {
    if (!(err instanceof ClusterAccessError) && !(err instanceof KubeApiError && err.status === 403)) throw err;
    io.stderr.write(`mathison-install: cannot reach the cluster: ${err.message}\n  try: kubectl cluster-info with the same --kubeconfig/--context\n`);
    return ExitCode.clusterAccess;
  }
}

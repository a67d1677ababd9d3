import { PREFLIGHT_CHECKS } from "../../checks/preflight/index.js";
import { runChecks } from "../../checks/types.js";
import { loadConfig } from "../../config/load.js";
import { formatProblem } from "../../config/types.js";
import { installedOf } from "../../pipeline/install.js";
import { readInstallState } from "../../record/store.js";
import { renderPlan } from "../../render/render.js";
import { chooseReporter } from "../../ui/choose-reporter.js";
import type { ParsedArgs } from "../args.js";
import { outputAndNamespace, withCluster } from "./common.js";
import { ExitCode, type ExitCodeValue } from "../../base/exit-codes.js";
import { type CliIO } from "../../base/io.js";

/** `mathison-install preflight`: the install's checks alone, with the answers an install would use; writes nothing. */
export async function runPreflight(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const parsed = outputAndNamespace(args, io);
  if (typeof parsed === "number") return parsed;
  return withCluster(args, io, async (kube) => {
    const state = await readInstallState(kube, parsed.namespace);
    const loaded = loadConfig({ flags: args.strings, env: io.env, forInstall: true, installed: installedOf(state), apiKeyMayComeLater: true });
    if (!loaded.ok) {
      for (const p of loaded.problems) io.stderr.write(`mathison-install: ${formatProblem(p)}\n`);
      return ExitCode.usage;
    }
    const reporter = chooseReporter({ format: parsed.output, stdout: io.stdout, stderr: io.stderr, env: io.env });
    const rendered = renderPlan(loaded.config, undefined, state.record.pullToken ? { pullToken: state.record.pullToken } : {});
    const outcomes = await runChecks(PREFLIGHT_CHECKS, { kube, rendered, config: loaded.config, state, forceNamespace: args.booleans["force-namespace"] ?? false });
    for (const o of outcomes) reporter.event({ event: "check", phase: "preflight", ...o });
    return outcomes.some((o) => o.status === "fail") ? ExitCode.preflight : ExitCode.ok;
  });
}

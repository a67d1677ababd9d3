import { clusterRecordSource } from "../../config/cluster-record.js";
import { loadConfig } from "../../config/load.js";
import { formatProblem } from "../../config/types.js";
import { runPlan } from "../../engine/engine.js";
import type { RunOutcome } from "../../engine/events.js";
import { connect } from "../../kube/client.js";
import { ClusterAccessError, KubeApiError, type Kube } from "../../kube/types.js";
import { renderPlan } from "../../render/render.js";
import { STAGES, type StageId } from "../../render/stages.js";
import { chooseReporter, OUTPUT_FORMATS, type OutputFormat } from "../../ui/choose-reporter.js";
import type { ParsedArgs } from "../args.js";
import { ExitCode, type ExitCodeValue } from "../exit-codes.js";
import type { CliIO } from "../io.js";

const OUTCOME_EXIT: Record<RunOutcome, ExitCodeValue> = {
  "ok": ExitCode.ok,
  "apply-failed": ExitCode.apply,
  "wait-failed": ExitCode.wait,
  "timeout": ExitCode.wait,
  "interrupted": ExitCode.interrupted,
  "cluster-access": ExitCode.clusterAccess,
};

/** `10m`, `90s`, `1h`, `500ms`, or plain seconds. */
export function parseDuration(value: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "s"]!;
  return n * unit > 0 ? n * unit : undefined;
}


export async function runInstall(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const output = (args.strings["output"] ?? "plain") as OutputFormat;
  const problems: string[] = [];
  if (!OUTPUT_FORMATS.includes(output)) problems.push(`--output: ${JSON.stringify(output)} is not allowed: ${OUTPUT_FORMATS.join(" or ")}`);
  const timeoutFlag = args.strings["timeout"];
  const timeoutMs = timeoutFlag === undefined ? undefined : parseDuration(timeoutFlag);
  if (timeoutFlag !== undefined && timeoutMs === undefined) problems.push(`--timeout: ${JSON.stringify(timeoutFlag)} is not allowed: a duration such as 90s, 10m or 1h`);
  // Everything the user gave is checked before the cluster is touched.
  const first = loadConfig({ flags: args.strings, env: io.env, forInstall: true, apiKeyMayComeLater: true });
  if (!first.ok) {
    // The run stops here, so list the API key too if the user gave none (a re-run would keep the installed one).
    const all = loadConfig({ flags: args.strings, env: io.env, forInstall: true });
    problems.push(...(all.ok ? first.problems : all.problems).map(formatProblem));
  }
  if (problems.length > 0) return usage(problems, io);
  const namespace = first.ok ? first.config.namespace : "";

  const reporter = chooseReporter({ format: output, stdout: io.stdout, stderr: io.stderr, env: io.env });
  let kube: Kube;
  let record;
  try {
    kube = connect({ kubeconfig: args.strings["kubeconfig"], context: args.strings["context"] });
    // Reading the existing install's record is also the reachability and credentials check.
    record = await clusterRecordSource(kube, namespace);
  } catch (err) {
    const denied = err instanceof KubeApiError && err.status === 403;
    if (!denied && !(err instanceof ClusterAccessError) && !(err instanceof Error && /ENOENT|kubeconfig/i.test(err.message))) throw err;
    const message = `cannot reach the cluster: ${(err as Error).message}`;
    if (output === "json") reporter.event({ event: "done", ok: false, outcome: "cluster-access", elapsedMs: 0, applied: 0, total: 0, message });
    io.stderr.write(`mathison-install: ${message}\n`);
    io.stderr.write("  try: kubectl cluster-info with the same --kubeconfig/--context; nothing was applied\n");
    return ExitCode.clusterAccess;
  }

  const loaded = loadConfig({ flags: args.strings, env: io.env, forInstall: true, clusterRecord: record });
  if (!loaded.ok) return usage(loaded.problems.map(formatProblem), io);

  const plan = renderPlan(loaded.config);
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const timeoutsMs = timeoutMs === undefined ? undefined : Object.fromEntries(STAGES.map((s) => [s.id, timeoutMs])) as Record<StageId, number>;
    const result = await runPlan(plan, kube, reporter, { dryRun: args.booleans["dry-run"] ?? false, signal: controller.signal, ...(timeoutsMs ? { timeoutsMs } : {}) });
    return OUTCOME_EXIT[result.outcome];
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function usage(problems: readonly string[], io: CliIO): ExitCodeValue {
  for (const p of problems) io.stderr.write(`mathison-install: ${p}\n`);
  io.stderr.write("nothing was applied; mathison-install install --help lists every setting\n");
  return ExitCode.usage;
}


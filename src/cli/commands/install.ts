import { clusterRecordSource } from "../../config/cluster-record.js";
import { loadConfig } from "../../config/load.js";
import { formatProblem } from "../../config/types.js";
import { runPlan } from "../../engine/engine.js";
import type { RunOutcome } from "../../engine/events.js";
import { connect, listContexts } from "../../kube/client.js";
import { ClusterAccessError, KubeApiError, type Kube } from "../../kube/types.js";
import type { FieldKey } from "../../config/fields.js";
import type { RawSource } from "../../config/sources.js";
import { authUrl, renderPlan } from "../../render/render.js";
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

/** Connects as kubectl would and reads the existing install's record: also the reachability and credentials check. */
async function openCluster(kubeconfig: string | undefined, context: string | undefined, namespace: string): Promise<{ kube: Kube; record: RawSource } | { unreachable: string }> {
  try {
    const kube = connect({ kubeconfig, context });
    return { kube, record: await clusterRecordSource(kube, namespace) };
  } catch (err) {
    const denied = err instanceof KubeApiError && err.status === 403;
    if (!denied && !(err instanceof ClusterAccessError)) throw err;
    return { unreachable: `cannot reach the cluster: ${(err as Error).message}` };
  }
}

function noCluster(message: string, io: CliIO): ExitCodeValue {
  io.stderr.write(`mathison-install: ${message}\n  try: kubectl cluster-info with the same --kubeconfig/--context; nothing was applied\n`);
  return ExitCode.clusterAccess;
}

export async function runInstall(args: ParsedArgs, io: CliIO): Promise<ExitCodeValue> {
  const output = (args.strings["output"] ?? "plain") as OutputFormat;
  const problems: string[] = [];
  if (!OUTPUT_FORMATS.includes(output)) problems.push(`--output: ${JSON.stringify(output)} is not allowed: ${OUTPUT_FORMATS.join(" or ")}`);
  const timeoutFlag = args.strings["timeout"];
  const timeoutMs = timeoutFlag === undefined ? undefined : parseDuration(timeoutFlag);
  if (timeoutFlag !== undefined && timeoutMs === undefined) problems.push(`--timeout: ${JSON.stringify(timeoutFlag)} is not allowed: a duration such as 90s, 10m or 1h`);
  // Everything the user gave is checked before the cluster is touched; what is missing the wizard asks.
  const interactive = !isNonInteractive(args, io);
  const first = loadConfig({ flags: args.strings, env: io.env, forInstall: !interactive, apiKeyMayComeLater: true });
  if (!first.ok) {
    // The run stops here, so list the API key too if the user gave none (a re-run would keep the installed one).
    const all = loadConfig({ flags: args.strings, env: io.env, forInstall: !interactive });
    problems.push(...(all.ok ? first.problems : all.problems).map(formatProblem));
  }
  if (problems.length > 0) return usage(problems, io);
  const namespace = first.ok ? first.config.namespace : "";
  const timeoutsMs = timeoutMs === undefined ? undefined : Object.fromEntries(STAGES.map((s) => [s.id, timeoutMs])) as Record<StageId, number>;
  const dryRun = args.booleans["dry-run"] ?? false;
  if (interactive) return runInteractive(args, io, namespace, { dryRun, ...(timeoutsMs ? { timeoutsMs } : {}) });

  const reporter = chooseReporter({ format: output, stdout: io.stdout, stderr: io.stderr, env: io.env });
  const opened = await openCluster(args.strings["kubeconfig"], args.strings["context"], namespace);
  if ("unreachable" in opened) {
    if (output === "json") reporter.event({ event: "done", ok: false, outcome: "cluster-access", elapsedMs: 0, applied: 0, total: 0, message: opened.unreachable });
    return noCluster(opened.unreachable, io);
  }
  const { kube, record } = opened;

  const loaded = loadConfig({ flags: args.strings, env: io.env, forInstall: true, clusterRecord: record });
  if (!loaded.ok) return usage(loaded.problems.map(formatProblem), io);

  return runWithSignals(async (signal) => {
    const result = await runPlan(renderPlan(loaded.config), kube, reporter, { dryRun, signal, ...(timeoutsMs ? { timeoutsMs } : {}) });
    return OUTCOME_EXIT[result.outcome];
  });
}

/** Ctrl-C or SIGTERM stops the engine after the requests in flight; a second one is not needed. */
async function runWithSignals(run: (signal: AbortSignal, abort: () => void) => Promise<ExitCodeValue>): Promise<ExitCodeValue> {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return await run(controller.signal, onSignal);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Interactive unless told otherwise, or stdin is not a terminal, or CI=true. */
export function isNonInteractive(args: ParsedArgs, io: Pick<CliIO, "stdin" | "env">): boolean {
  return args.booleans["non-interactive"] === true || io.stdin.isTTY !== true || io.env["CI"] === "true";
}

/**
 * The wizard asks what flags, environment, values file and the existing install leave open (all of
 * it before Ink mounts: stdin belongs to one library at a time), shows a summary to confirm, then
 * the apply phase runs on the Ink progress screen.
 */
async function runInteractive(args: ParsedArgs, io: CliIO, namespace: string, engine: { dryRun: boolean; timeoutsMs?: Record<StageId, number> }): Promise<ExitCodeValue> {
  const { askContext, askQuestions, confirmInstall, WizardCancelled } = await import("../../ui/wizard/wizard.js");
  const { planQuestions } = await import("../../ui/wizard/questions.js");
  const { summaryLines } = await import("../../ui/wizard/summary.js");
  const { suppliedValues } = await import("../../config/load.js");
  const { discoverClusterFacts } = await import("../../config/cluster-facts.js");
  const promptIO = { input: io.stdin, output: io.stderr };
  const kubeconfig = args.strings["kubeconfig"];
  let kube: Kube;
  let config;
  try {
    let context = args.strings["context"];
    if (context === undefined) {
      let names: string[];
      try {
        names = listContexts({ kubeconfig }).names;
      } catch (err) {
        if (err instanceof ClusterAccessError) return noCluster(`cannot reach the cluster: ${err.message}`, io);
        throw err;
      }
      if (names.length > 1) context = await askContext(names, promptIO);
    }
    const opened = await openCluster(kubeconfig, context, namespace);
    if ("unreachable" in opened) return noCluster(opened.unreachable, io);
    kube = opened.kube;
    const record = opened.record;
    const facts = await discoverClusterFacts(kube, namespace);
    const supplied = suppliedValues({ flags: args.strings, env: io.env });
    const questions = planQuestions({ supplied: new Set(Object.keys(supplied) as FieldKey[]), recorded: new Set(Object.keys(record) as FieldKey[]), facts });
    const answers = await askQuestions(questions, promptIO, (key) => supplied[key]?.value);
    const loaded = loadConfig({ flags: args.strings, env: io.env, forInstall: true, prompted: answers, clusterRecord: record });
    if (!loaded.ok) return usage(loaded.problems.map(formatProblem), io);
    config = loaded.config;
    const origin = (key: FieldKey) => (supplied[key] || answers[key] ? "given" : record[key] ? "kept" : "generated") as "given" | "kept" | "generated";
    if (!(await confirmInstall(summaryLines(config, kube.contextName, origin), promptIO, engine.dryRun))) {
      io.stderr.write("Nothing was applied.\n");
      return ExitCode.interrupted;
    }
  } catch (err) {
    if (err instanceof WizardCancelled) {
      io.stderr.write("\nCancelled: nothing was applied.\n");
      return ExitCode.interrupted;
    }
    throw err;
  }

  const { mountProgressScreen } = await import("../../ui/ink-progress.js");
  const plan = renderPlan(config);
  return runWithSignals(async (signal, abort) => {
    const screen = mountProgressScreen({ output: io.stderr as NodeJS.WriteStream, input: io.stdin as NodeJS.ReadStream, url: authUrl(config), onInterrupt: abort });
    try {
      const result = await runPlan(plan, kube, screen.reporter, { ...engine, signal });
      return OUTCOME_EXIT[result.outcome];
    } finally {
      await screen.close();
    }
  });
}

function usage(problems: readonly string[], io: CliIO): ExitCodeValue {
  for (const p of problems) io.stderr.write(`mathison-install: ${p}\n`);
  io.stderr.write("nothing was applied; mathison-install install --help lists every setting\n");
  return ExitCode.usage;
}

